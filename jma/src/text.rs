//! An alert's texts in every screen language. Japanese comes from the document (its headline,
//! areas, times, heights, intensities); the other six from templates filled with the
//! document's values and the wards' names in that language (`content::wards`).

use alerts::area_map::WardMatch;
use alerts::model::{Area, Category, Certainty, Info, ResponseType, Severity, Status, Urgency};
use alerts::templates::{LANGUAGES, drill_banner};
use content::tokyo::TOKYO;
use content::wards::{self, OSAKA_CITY};

use crate::decide::{Hazard, Intensity, Rule, Show, What};

/// The CAP infos of `show`, one per language (`ja` first).
pub fn infos(show: &Show, status: Status) -> Vec<Info> {
    let (category, urgency, severity, certainty, response) = cap_fields(show);
    LANGUAGES
        .iter()
        .map(|lang| {
            let (headline, instruction, description) = texts(show, lang);
            let mut info = Info::new(
                lang,
                category,
                event_en(&show.what),
                urgency,
                severity,
                certainty,
            );
            info.response_types = vec![response];
            info.sender_name = Some("気象庁 / Japan Meteorological Agency".into());
            info.expires = show.expires.map(|t| t.with_timezone(&TOKYO));
            info.headline = Some(match drill_banner(status, lang) {
                Some(banner) => format!("{banner} {headline}"),
                None => headline,
            });
            info.instruction = Some(instruction);
            info.description = description;
            info.areas = vec![Area::described(&area_name(&show.wards, lang))];
            info
        })
        .collect()
}

/// The wards' (or the city's) names in `lang`.
pub fn area_name(wards: &WardMatch, lang: &str) -> String {
    match wards {
        WardMatch::All => OSAKA_CITY.name(lang).to_owned(),
        WardMatch::Wards(ids) => ids
            .iter()
            .map(|id| wards::by_id(id.0.as_str()).map_or(id.0.as_str(), |w| w.name(lang)))
            .collect::<Vec<_>>()
            .join(wards::list_separator(lang)),
    }
}

fn cap_fields(show: &Show) -> (Category, Urgency, Severity, Certainty, ResponseType) {
    let category = match show.rule {
        Rule::MajorTsunamiWarning
        | Rule::TsunamiWarning
        | Rule::TsunamiAdvisory
        | Rule::EarthquakeEarlyWarning
        | Rule::StrongShaking
        | Rule::NankaiTroughWarning
        | Rule::NankaiTroughAdvisory => Category::Geo,
        _ => Category::Met,
    };
    let certainty = match show.rule {
        Rule::StrongShaking | Rule::RecordRainfall => Certainty::Observed,
        _ => Certainty::Likely,
    };
    let (urgency, severity, response) = match show.level.get() {
        5 => (Urgency::Immediate, Severity::Extreme, ResponseType::Shelter),
        4 => (Urgency::Immediate, Severity::Severe, ResponseType::Evacuate),
        3 => (Urgency::Expected, Severity::Severe, ResponseType::Prepare),
        _ => (Urgency::Expected, Severity::Moderate, ResponseType::Monitor),
    };
    let response = match show.what {
        What::MajorTsunamiWarning | What::TsunamiWarning => ResponseType::Evacuate,
        What::EarthquakeEarlyWarning | What::StrongShaking { .. } | What::Tornado => {
            ResponseType::Shelter
        }
        _ => response,
    };
    (category, urgency, severity, certainty, response)
}

fn event_en(what: &What) -> &'static str {
    match what {
        What::MajorTsunamiWarning => "Major Tsunami Warning",
        What::TsunamiWarning => "Tsunami Warning",
        What::EarthquakeEarlyWarning => "Earthquake Early Warning",
        What::StrongShaking { .. } => "Strong Earthquake",
        What::EmergencyWarning { .. } => "Emergency Warning",
        What::Warning { .. } => "Weather Warning",
        What::LandslideAlert => "Landslide Alert",
        What::RiverFlood { .. } => "River Flood",
        What::RecordRainfall => "Record Short-term Heavy Rain",
        What::Tornado => "Tornado Watch",
        What::NankaiTroughWarning | What::NankaiTroughAdvisory => {
            "Nankai Trough Earthquake Extra Information"
        }
    }
}

/// Headline, instruction and description in `lang`.
fn texts(show: &Show, lang: &str) -> (String, String, Option<String>) {
    if lang == "ja" {
        let mut description = Vec::new();
        if !show.text_ja.is_empty() {
            description.push(show.text_ja.clone());
        }
        description.extend(show.details_ja.iter().cloned());
        let instruction = if show.details_ja.is_empty() {
            show.text_ja.clone()
        } else {
            show.details_ja.join("　")
        };
        return (
            show.headline_ja.clone(),
            instruction,
            Some(description.join("\n")).filter(|d| !d.is_empty()),
        );
    }
    let t = template(&show.what, show.level.get());
    let i = lang_index(lang);
    let hazards = match &show.what {
        What::EmergencyWarning { hazards } | What::Warning { hazards } => hazards
            .iter()
            .map(|h| hazard_name(*h)[i])
            .collect::<Vec<_>>()
            .join(if i == 0 || i == 2 || i == 3 {
                "・"
            } else {
                ", "
            }),
        _ => String::new(),
    };
    let intensity = match &show.what {
        What::StrongShaking { intensity } => intensity_name(*intensity, i),
        _ => String::new(),
    };
    let arrival = show
        .arrival
        .map(|t| t.with_timezone(&TOKYO).format("%H:%M").to_string());
    let values = Values {
        area: area_name(&show.wards, lang),
        level: show.level.get().to_string(),
        hazard: hazards,
        intensity,
    };
    let mut instruction = values.fill(t.instruction[i]);
    if let Some(at) = arrival {
        instruction = format!(
            "{} {}",
            values.fill(FIRST_WAVE[i]).replace("{time}", &at),
            instruction
        );
    }
    (values.fill(t.headline[i]), instruction, None)
}

struct Values {
    area: String,
    level: String,
    hazard: String,
    intensity: String,
}

impl Values {
    /// One pass, so a brace inside a value is never expanded again.
    fn fill(&self, template: &str) -> String {
        let mut out = String::with_capacity(template.len() + 32);
        let mut rest = template;
        while let Some(at) = rest.find('{') {
            out.push_str(&rest[..at]);
            let tail = &rest[at..];
            let hit = [
                ("{area}", &self.area),
                ("{level}", &self.level),
                ("{hazard}", &self.hazard),
                ("{intensity}", &self.intensity),
            ]
            .into_iter()
            .find(|(p, _)| tail.starts_with(p));
            match hit {
                Some((p, v)) => {
                    out.push_str(v);
                    rest = &tail[p.len()..];
                }
                None => {
                    out.push('{');
                    rest = &tail[1..];
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// Index into the six translated languages: ja-easy, en, zh-Hans, zh-Hant, ko, vi.
fn lang_index(lang: &str) -> usize {
    match lang {
        "ja-easy" => 0,
        "zh-Hans" => 2,
        "zh-Hant" => 3,
        "ko" => 4,
        "vi" => 5,
        _ => 1,
    }
}

type Six = [&'static str; 6];

struct Template {
    headline: Six,
    instruction: Six,
}

const FIRST_WAVE: Six = [
    "つなみの くる じかん {time}。",
    "First wave expected at {time}.",
    "第一波预计到达时间 {time}。",
    "第一波預計到達時間 {time}。",
    "첫 파도 도달 예상 {time}.",
    "Đợt sóng đầu dự kiến lúc {time}.",
];

const PREPARE: Six = [
    "にげる じゅんびを して ください",
    "Check evacuation information and be ready to evacuate.",
    "请确认避难信息，做好避难准备。",
    "請確認避難資訊，做好避難準備。",
    "대피 정보를 확인하고 대피를 준비하십시오.",
    "Hãy kiểm tra thông tin sơ tán và chuẩn bị sơ tán.",
];

const EVACUATE: Six = [
    "あぶない ところから すぐに にげて ください",
    "Evacuate from dangerous places now.",
    "请立即从危险场所避难。",
    "請立即從危險場所避難。",
    "위험한 장소에서 즉시 대피하십시오.",
    "Hãy sơ tán khỏi nơi nguy hiểm ngay.",
];

const SAVE_LIFE: Six = [
    "いのちが あぶないです。すぐに あんぜんな ところへ",
    "Danger to life. Secure your safety immediately.",
    "生命危险。请立即确保自身安全。",
    "生命危險。請立即確保自身安全。",
    "생명이 위험합니다. 즉시 안전을 확보하십시오.",
    "Nguy hiểm đến tính mạng. Hãy đảm bảo an toàn ngay lập tức.",
];

const HIGH_GROUND: Six = [
    "すぐに うみや かわから はなれて、たかい ところへ にげて ください",
    "Leave the coast and rivers now and go to high ground.",
    "请立即远离海岸和河流，前往高处避难。",
    "請立即遠離海岸和河流，前往高處避難。",
    "즉시 해안과 강가를 떠나 높은 곳으로 대피하십시오.",
    "Hãy rời bờ biển, bờ sông ngay và lên chỗ cao.",
];

fn by_level(level: u8) -> Six {
    match level {
        5 => SAVE_LIFE,
        4 => EVACUATE,
        _ => PREPARE,
    }
}

fn template(what: &What, level: u8) -> Template {
    match what {
        What::MajorTsunamiWarning => Template {
            headline: [
                "おおきな つなみが きます（{area}）",
                "Major Tsunami Warning: {area}",
                "大海啸警报：{area}",
                "大海嘯警報：{area}",
                "대형 쓰나미 경보: {area}",
                "Cảnh báo sóng thần lớn: {area}",
            ],
            instruction: HIGH_GROUND,
        },
        What::TsunamiWarning => Template {
            headline: [
                "つなみが きます（{area}）",
                "Tsunami Warning: {area}",
                "海啸警报：{area}",
                "海嘯警報：{area}",
                "쓰나미 경보: {area}",
                "Cảnh báo sóng thần: {area}",
            ],
            instruction: HIGH_GROUND,
        },
        What::EarthquakeEarlyWarning => Template {
            headline: [
                "じしんです。つよく ゆれます（{area}）",
                "Earthquake Early Warning: {area}",
                "紧急地震速报：{area}",
                "緊急地震速報：{area}",
                "긴급지진속보: {area}",
                "Cảnh báo sớm động đất: {area}",
            ],
            instruction: [
                "あたまを まもって、つくえの したに はいって ください",
                "Strong shaking expected. Protect your head and get under a sturdy table.",
                "预计将有强烈摇晃。请保护头部，躲到结实的桌子下。",
                "預計將有強烈搖晃。請保護頭部，躲到堅固的桌子下。",
                "강한 흔들림이 예상됩니다. 머리를 보호하고 튼튼한 책상 아래로 들어가십시오.",
                "Sắp có rung lắc mạnh. Hãy bảo vệ đầu và chui xuống gầm bàn chắc chắn.",
            ],
        },
        What::StrongShaking { .. } => Template {
            headline: [
                "おおきな じしんが ありました（{area} しんど{intensity}）",
                "Strong earthquake: seismic intensity {intensity} in {area}",
                "强烈地震：{area} 震度{intensity}",
                "強烈地震：{area} 震度{intensity}",
                "강한 지진: {area} 진도 {intensity}",
                "Động đất mạnh: cường độ {intensity} tại {area}",
            ],
            instruction: [
                "おちて くる ものに きを つけて ください。また ゆれる かも しれません",
                "Watch for falling objects and be ready for aftershocks.",
                "请注意掉落物，并做好应对余震的准备。",
                "請注意掉落物，並做好應對餘震的準備。",
                "떨어지는 물건에 주의하고 여진에 대비하십시오.",
                "Hãy cẩn thận vật rơi và chuẩn bị cho dư chấn.",
            ],
        },
        What::EmergencyWarning { .. } => Template {
            headline: [
                "とくべつ けいほう（{hazard}）レベル5（{area}）",
                "Emergency Warning ({hazard}), alert level 5: {area}",
                "特别警报（{hazard}）警戒级别5：{area}",
                "特別警報（{hazard}）警戒等級5：{area}",
                "특별경보({hazard}) 경계 레벨 5: {area}",
                "Cảnh báo đặc biệt ({hazard}), cấp độ 5: {area}",
            ],
            instruction: SAVE_LIFE,
        },
        What::Warning { .. } => Template {
            headline: [
                "けいほう（{hazard}）レベル{level}（{area}）",
                "Warning ({hazard}), alert level {level}: {area}",
                "警报（{hazard}）警戒级别{level}：{area}",
                "警報（{hazard}）警戒等級{level}：{area}",
                "경보({hazard}) 경계 레벨 {level}: {area}",
                "Cảnh báo ({hazard}), cấp độ {level}: {area}",
            ],
            instruction: by_level(level),
        },
        What::LandslideAlert => Template {
            headline: [
                "がけくずれなどに けいかい レベル4（{area}）",
                "Landslide Alert, alert level 4: {area}",
                "土砂灾害警戒信息 警戒级别4：{area}",
                "土砂災害警戒資訊 警戒等級4：{area}",
                "토사 재해 경계 정보 경계 레벨 4: {area}",
                "Cảnh báo sạt lở đất, cấp độ 4: {area}",
            ],
            instruction: EVACUATE,
        },
        What::RiverFlood { .. } => Template {
            headline: [
                "かわが あふれる おそれ レベル{level}（{area}）",
                "River flood warning, alert level {level}: {area}",
                "河流洪水警报 警戒级别{level}：{area}",
                "河川洪水警報 警戒等級{level}：{area}",
                "하천 홍수 경보 경계 레벨 {level}: {area}",
                "Cảnh báo lũ sông, cấp độ {level}: {area}",
            ],
            instruction: by_level(level),
        },
        What::RecordRainfall => Template {
            headline: [
                "とても つよい あめが ふって います（{area}）",
                "Record short-term heavy rain: {area}",
                "记录性短时强降雨：{area}",
                "記錄性短時強降雨：{area}",
                "기록적 단시간 호우: {area}",
                "Mưa lớn kỷ lục trong thời gian ngắn: {area}",
            ],
            instruction: EVACUATE,
        },
        What::Tornado => Template {
            headline: [
                "たつまきに ちゅうい（{area}）",
                "Tornado watch: {area}",
                "龙卷风注意信息：{area}",
                "龍捲風注意資訊：{area}",
                "토네이도 주의 정보: {area}",
                "Cảnh báo lốc xoáy: {area}",
            ],
            instruction: [
                "じょうぶな たてものの なかに はいって、まどから はなれて ください",
                "Go inside a sturdy building and stay away from windows.",
                "请进入坚固的建筑物内，远离窗户。",
                "請進入堅固的建築物內，遠離窗戶。",
                "튼튼한 건물 안으로 들어가 창문에서 떨어지십시오.",
                "Hãy vào trong tòa nhà chắc chắn và tránh xa cửa sổ.",
            ],
        },
        What::NankaiTroughWarning => Template {
            headline: [
                "なんかいトラフ じしん りんじ じょうほう（きょだい じしん けいかい）",
                "Nankai Trough Earthquake Extra Information (Megaquake Warning)",
                "南海海槽地震临时信息（巨大地震警戒）",
                "南海海槽地震臨時資訊（巨大地震警戒）",
                "난카이 해곡 지진 임시 정보(거대 지진 경계)",
                "Thông tin đặc biệt về động đất rãnh Nankai (cảnh báo siêu động đất)",
            ],
            instruction: [
                "おおきな じしんに そなえて、すぐ にげられる ように して ください",
                "A great earthquake is more likely than usual. Check your preparations and be ready to evacuate at once.",
                "发生大地震的可能性比平时高。请检查防灾准备，做好随时避难的准备。",
                "發生大地震的可能性比平時高。請檢查防災準備，做好隨時避難的準備。",
                "큰 지진의 가능성이 평소보다 높습니다. 대비를 점검하고 즉시 대피할 수 있도록 준비하십시오.",
                "Khả năng xảy ra động đất lớn cao hơn bình thường. Hãy kiểm tra sự chuẩn bị và sẵn sàng sơ tán ngay.",
            ],
        },
        What::NankaiTroughAdvisory => Template {
            headline: [
                "なんかいトラフ じしん りんじ じょうほう（きょだい じしん ちゅうい）",
                "Nankai Trough Earthquake Extra Information (Megaquake Advisory)",
                "南海海槽地震临时信息（巨大地震注意）",
                "南海海槽地震臨時資訊（巨大地震注意）",
                "난카이 해곡 지진 임시 정보(거대 지진 주의)",
                "Thông tin đặc biệt về động đất rãnh Nankai (lưu ý siêu động đất)",
            ],
            instruction: [
                "じしんへの そなえを もう いちど たしかめて ください",
                "Check your earthquake preparations.",
                "请再次确认地震防灾准备。",
                "請再次確認地震防災準備。",
                "지진 대비를 다시 확인하십시오.",
                "Hãy kiểm tra lại sự chuẩn bị phòng động đất.",
            ],
        },
    }
}

fn hazard_name(h: Hazard) -> Six {
    match h {
        Hazard::HeavyRain => ["おおあめ", "heavy rain", "暴雨", "豪雨", "호우", "mưa lớn"],
        Hazard::Landslide => [
            "どしゃさいがい",
            "landslides",
            "土砂灾害",
            "土砂災害",
            "토사 재해",
            "sạt lở đất",
        ],
        Hazard::Flood => ["こうずい", "flooding", "洪水", "洪水", "홍수", "lũ lụt"],
        Hazard::StormSurge => [
            "たかしお",
            "storm surge",
            "风暴潮",
            "暴潮",
            "해일",
            "nước dâng do bão",
        ],
        Hazard::Storm => ["ぼうふう", "storm", "暴风", "暴風", "폭풍", "bão"],
        Hazard::Snowstorm => [
            "ぼうふうせつ",
            "snowstorm",
            "暴风雪",
            "暴風雪",
            "폭풍설",
            "bão tuyết",
        ],
        Hazard::HeavySnow => [
            "おおゆき",
            "heavy snow",
            "大雪",
            "大雪",
            "대설",
            "tuyết lớn",
        ],
        Hazard::HighWaves => [
            "たかい なみ",
            "high waves",
            "巨浪",
            "巨浪",
            "높은 파도",
            "sóng lớn",
        ],
        Hazard::Other => [
            "あぶない てんき",
            "severe weather",
            "恶劣天气",
            "惡劣天氣",
            "악천후",
            "thời tiết nguy hiểm",
        ],
    }
}

/// 5弱 is "5 Lower" in JMA's English; Korean writes 약/강, Vietnamese yếu/mạnh.
fn intensity_name(i: Intensity, lang: usize) -> String {
    let code = i.code();
    let (n, half) = match code.split_at(1) {
        (n, "-") => (n, Some(false)),
        (n, "+") => (n, Some(true)),
        (n, _) => (n, None),
    };
    let words: [(&str, &str); 6] = [
        ("じゃく", "きょう"),
        (" Lower", " Upper"),
        ("弱", "强"),
        ("弱", "強"),
        ("약", "강"),
        (" yếu", " mạnh"),
    ];
    match half {
        None => n.to_owned(),
        Some(upper) => {
            let (lower_w, upper_w) = words[lang];
            format!("{n}{}", if upper { upper_w } else { lower_w })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_is_one_pass_and_keeps_stray_braces() {
        let v = Values {
            area: "{level}".into(),
            level: "4".into(),
            hazard: String::new(),
            intensity: String::new(),
        };
        assert_eq!(v.fill("{area} L{level} {x}"), "{level} L4 {x}");
    }

    #[test]
    fn intensities_read_in_each_language() {
        let i = Intensity::parse("6+").unwrap();
        assert_eq!(intensity_name(i, 1), "6 Upper");
        assert_eq!(intensity_name(i, 4), "6강");
        assert_eq!(intensity_name(Intensity::parse("7").unwrap(), 5), "7");
    }

    #[test]
    fn areas_are_named_in_the_screen_language() {
        let m = WardMatch::Wards(["kita".into(), "chuo".into()].into());
        assert_eq!(area_name(&m, "ja"), "中央区、北区");
        assert_eq!(area_name(&m, "en"), "Chuo Ward, Kita Ward");
        assert_eq!(area_name(&WardMatch::All, "ko"), "오사카시");
    }
}
