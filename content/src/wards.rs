//! Osaka City's 24 wards: the ASCII ids used everywhere in configuration and on the wire,
//! the 全国地方公共団体コード that official feeds name them by, and their names in every
//! language a screen offers (the order of `LANGUAGES` in the `alerts` templates).
//!
//! Codes: 総務省「全国地方公共団体コード」 (the five digits without the check digit), e.g.
//! 27127 北区. JMA's seismic-intensity documents name a ward by that code followed by `00`
//! (地震情報／細分区域（市町村等）, e.g. `2712700` 大阪北区), as in JMA's samples.
//! Names: the wards' own spellings (大阪市, 各区の外国語表記); the やさしい日本語 reading is
//! the ward's name in hiragana, as the city's easy-Japanese pages write it.

use crate::ids::WardId;

/// One ward's identity and names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ward {
    pub id: &'static str,
    /// 全国地方公共団体コード without the check digit.
    pub code: &'static str,
    pub ja: &'static str,
    /// The reading, for やさしい日本語 screens.
    pub ja_easy: &'static str,
    pub en: &'static str,
    pub zh_hans: &'static str,
    pub zh_hant: &'static str,
    pub ko: &'static str,
    pub vi: &'static str,
}

macro_rules! ward {
    ($id:literal, $code:literal, $ja:literal, $easy:literal, $en:literal, $hans:literal, $hant:literal, $ko:literal, $vi:literal) => {
        Ward {
            id: $id,
            code: $code,
            ja: $ja,
            ja_easy: $easy,
            en: $en,
            zh_hans: $hans,
            zh_hant: $hant,
            ko: $ko,
            vi: $vi,
        }
    };
}

/// In code order.
pub const OSAKA_WARDS: [Ward; 24] = [
    ward!(
        "miyakojima",
        "27102",
        "都島区",
        "みやこじまく",
        "Miyakojima Ward",
        "都岛区",
        "都島區",
        "미야코지마구",
        "Quận Miyakojima"
    ),
    ward!(
        "fukushima",
        "27103",
        "福島区",
        "ふくしまく",
        "Fukushima Ward",
        "福岛区",
        "福島區",
        "후쿠시마구",
        "Quận Fukushima"
    ),
    ward!(
        "konohana",
        "27104",
        "此花区",
        "このはなく",
        "Konohana Ward",
        "此花区",
        "此花區",
        "고노하나구",
        "Quận Konohana"
    ),
    ward!(
        "nishi",
        "27106",
        "西区",
        "にしく",
        "Nishi Ward",
        "西区",
        "西區",
        "니시구",
        "Quận Nishi"
    ),
    ward!(
        "minato",
        "27107",
        "港区",
        "みなとく",
        "Minato Ward",
        "港区",
        "港區",
        "미나토구",
        "Quận Minato"
    ),
    ward!(
        "taisho",
        "27108",
        "大正区",
        "たいしょうく",
        "Taisho Ward",
        "大正区",
        "大正區",
        "다이쇼구",
        "Quận Taisho"
    ),
    ward!(
        "tennoji",
        "27109",
        "天王寺区",
        "てんのうじく",
        "Tennoji Ward",
        "天王寺区",
        "天王寺區",
        "덴노지구",
        "Quận Tennoji"
    ),
    ward!(
        "naniwa",
        "27111",
        "浪速区",
        "なにわく",
        "Naniwa Ward",
        "浪速区",
        "浪速區",
        "나니와구",
        "Quận Naniwa"
    ),
    ward!(
        "nishiyodogawa",
        "27113",
        "西淀川区",
        "にしよどがわく",
        "Nishiyodogawa Ward",
        "西淀川区",
        "西淀川區",
        "니시요도가와구",
        "Quận Nishiyodogawa"
    ),
    ward!(
        "higashiyodogawa",
        "27114",
        "東淀川区",
        "ひがしよどがわく",
        "Higashiyodogawa Ward",
        "东淀川区",
        "東淀川區",
        "히가시요도가와구",
        "Quận Higashiyodogawa"
    ),
    ward!(
        "higashinari",
        "27115",
        "東成区",
        "ひがしなりく",
        "Higashinari Ward",
        "东成区",
        "東成區",
        "히가시나리구",
        "Quận Higashinari"
    ),
    ward!(
        "ikuno",
        "27116",
        "生野区",
        "いくのく",
        "Ikuno Ward",
        "生野区",
        "生野區",
        "이쿠노구",
        "Quận Ikuno"
    ),
    ward!(
        "asahi",
        "27117",
        "旭区",
        "あさひく",
        "Asahi Ward",
        "旭区",
        "旭區",
        "아사히구",
        "Quận Asahi"
    ),
    ward!(
        "joto",
        "27118",
        "城東区",
        "じょうとうく",
        "Joto Ward",
        "城东区",
        "城東區",
        "조토구",
        "Quận Joto"
    ),
    ward!(
        "abeno",
        "27119",
        "阿倍野区",
        "あべのく",
        "Abeno Ward",
        "阿倍野区",
        "阿倍野區",
        "아베노구",
        "Quận Abeno"
    ),
    ward!(
        "sumiyoshi",
        "27120",
        "住吉区",
        "すみよしく",
        "Sumiyoshi Ward",
        "住吉区",
        "住吉區",
        "스미요시구",
        "Quận Sumiyoshi"
    ),
    ward!(
        "higashisumiyoshi",
        "27121",
        "東住吉区",
        "ひがしすみよしく",
        "Higashisumiyoshi Ward",
        "东住吉区",
        "東住吉區",
        "히가시스미요시구",
        "Quận Higashisumiyoshi"
    ),
    ward!(
        "nishinari",
        "27122",
        "西成区",
        "にしなりく",
        "Nishinari Ward",
        "西成区",
        "西成區",
        "니시나리구",
        "Quận Nishinari"
    ),
    ward!(
        "yodogawa",
        "27123",
        "淀川区",
        "よどがわく",
        "Yodogawa Ward",
        "淀川区",
        "淀川區",
        "요도가와구",
        "Quận Yodogawa"
    ),
    ward!(
        "tsurumi",
        "27124",
        "鶴見区",
        "つるみく",
        "Tsurumi Ward",
        "鹤见区",
        "鶴見區",
        "쓰루미구",
        "Quận Tsurumi"
    ),
    ward!(
        "suminoe",
        "27125",
        "住之江区",
        "すみのえく",
        "Suminoe Ward",
        "住之江区",
        "住之江區",
        "스미노에구",
        "Quận Suminoe"
    ),
    ward!(
        "hirano",
        "27126",
        "平野区",
        "ひらのく",
        "Hirano Ward",
        "平野区",
        "平野區",
        "히라노구",
        "Quận Hirano"
    ),
    ward!(
        "kita",
        "27127",
        "北区",
        "きたく",
        "Kita Ward",
        "北区",
        "北區",
        "기타구",
        "Quận Kita"
    ),
    ward!(
        "chuo",
        "27128",
        "中央区",
        "ちゅうおうく",
        "Chuo Ward",
        "中央区",
        "中央區",
        "주오구",
        "Quận Chuo"
    ),
];

/// The city the wards belong to, in the same languages.
pub const OSAKA_CITY: Ward = ward!(
    "osaka",
    "27100",
    "大阪市",
    "おおさかし",
    "Osaka City",
    "大阪市",
    "大阪市",
    "오사카시",
    "Thành phố Osaka"
);

impl Ward {
    /// The name in a screen language key (`ja`, `ja-easy`, `en`, `zh-Hans`, `zh-Hant`, `ko`,
    /// `vi`); English for any other.
    pub fn name(&self, lang: &str) -> &'static str {
        match lang {
            "ja" => self.ja,
            "ja-easy" => self.ja_easy,
            "zh-Hans" => self.zh_hans,
            "zh-Hant" => self.zh_hant,
            "ko" => self.ko,
            "vi" => self.vi,
            _ => self.en,
        }
    }

    pub fn ward_id(&self) -> WardId {
        WardId::from(self.id)
    }
}

/// What separates names in a list in `lang`: 北区、中央区 but Kita Ward, Chuo Ward.
pub fn list_separator(lang: &str) -> &'static str {
    if matches!(lang, "en" | "ko" | "vi") {
        ", "
    } else {
        "、"
    }
}

/// The ward with this id, if it is one of Osaka's.
pub fn by_id(id: &str) -> Option<&'static Ward> {
    OSAKA_WARDS.iter().find(|w| w.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_codes_and_names_are_unique_and_complete() {
        for field in [
            |w: &Ward| w.id,
            |w: &Ward| w.code,
            |w: &Ward| w.ja,
            |w: &Ward| w.ja_easy,
            |w: &Ward| w.en,
            |w: &Ward| w.zh_hans,
            |w: &Ward| w.zh_hant,
            |w: &Ward| w.ko,
            |w: &Ward| w.vi,
        ] {
            let values: HashSet<&str> = OSAKA_WARDS.iter().map(field).collect();
            assert_eq!(values.len(), 24);
            assert!(values.iter().all(|v| !v.trim().is_empty()));
        }
        for w in &OSAKA_WARDS {
            assert!(w.id.bytes().all(|b| b.is_ascii_lowercase()), "{}", w.id);
            assert!(w.code.starts_with("271") && w.code.len() == 5, "{}", w.code);
            assert!(
                w.ja.ends_with('区') && w.ja_easy.ends_with('く'),
                "{}",
                w.ja
            );
            assert!(
                w.ja_easy
                    .chars()
                    .all(|c| ('ぁ'..='ゖ').contains(&c) || c == 'ー')
            );
        }
        let mut codes: Vec<&str> = OSAKA_WARDS.iter().map(|w| w.code).collect();
        let sorted = {
            let mut s = codes.clone();
            s.sort();
            s
        };
        assert_eq!(codes, sorted, "kept in code order");
        codes.dedup();
        assert_eq!(codes.len(), 24);
    }

    #[test]
    fn names_by_language_key() {
        let kita = by_id("kita").unwrap();
        assert_eq!(kita.name("ja"), "北区");
        assert_eq!(kita.name("ja-easy"), "きたく");
        assert_eq!(kita.name("en"), "Kita Ward");
        assert_eq!(kita.name("zh-Hant"), "北區");
        assert_eq!(kita.name("ko"), "기타구");
        assert_eq!(kita.name("xx"), "Kita Ward");
        assert!(by_id("shinjuku").is_none());
    }
}
