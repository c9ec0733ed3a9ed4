//! Ready texts for the common emergencies, in every language a screen must offer, with the
//! JMA / Cabinet Office warning-level colours and the drill / test marking.
//!
//! Colours: 警戒レベル 5 black, 4 purple, 3 red, 2 yellow, 1 white, as fixed by the Cabinet
//! Office (内閣府 防災担当, 「警戒レベルの配色」, 29 May 2020, adopted by JMA's キキクル in 2021).
//! The RGB values below are the screen values of that scheme as we recall them (black
//! 12,0,12; purple 170,0,170; red 255,40,0; yellow 242,231,0; white 242,242,255): check them
//! against the published table before a public release. Level 1's white needs a dark frame on
//! a white screen; text colour is chosen for contrast on each background.
//!
//! Wording follows the official Japanese terms (緊急地震速報, 大津波警報, 避難指示,
//! 高齢者等避難, 緊急安全確保, J-ALERT's ミサイル発射情報); the other languages say the same
//! thing plainly. Placeholders: `{area}` (always) and `{shelter}` (tsunami, evacuation, fire).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use crate::model::{Category, Certainty, Info, ResponseType, Severity, Status, Urgency};

/// The language keys every template and banner exists in (`content::ids::Lang` keys).
pub const LANGUAGES: [&str; 7] = ["ja", "ja-easy", "en", "zh-Hans", "zh-Hant", "ko", "vi"];

/// JMA warning level (警戒レベル) 1-5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct WarningLevel(u8);

impl WarningLevel {
    pub const MIN: u8 = 1;
    pub const MAX: u8 = 5;

    pub fn new(level: u8) -> Option<Self> {
        (Self::MIN..=Self::MAX)
            .contains(&level)
            .then_some(Self(level))
    }

    pub fn get(self) -> u8 {
        self.0
    }

    /// Background and text colour for this level.
    pub fn colours(self) -> LevelColours {
        let (name_ja, name_en, background, text) = match self.0 {
            5 => ("黒", "black", Rgb(12, 0, 12), Rgb(255, 255, 255)),
            4 => ("紫", "purple", Rgb(170, 0, 170), Rgb(255, 255, 255)),
            // White on JMA red is 3.8:1, under WCAG AA's 4.5:1; black on it is 5.6:1.
            3 => ("赤", "red", Rgb(255, 40, 0), Rgb(0, 0, 0)),
            2 => ("黄", "yellow", Rgb(242, 231, 0), Rgb(0, 0, 0)),
            _ => ("白", "white", Rgb(242, 242, 255), Rgb(0, 0, 0)),
        };
        LevelColours {
            name_ja,
            name_en,
            background,
            text,
        }
    }
}

impl TryFrom<u8> for WarningLevel {
    type Error = String;
    fn try_from(level: u8) -> Result<Self, String> {
        Self::new(level).ok_or_else(|| format!("warning level {level} is not 1-5"))
    }
}

impl From<WarningLevel> for u8 {
    fn from(level: WarningLevel) -> u8 {
        level.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl fmt::Display for Rgb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:02X}{:02X}{:02X}", self.0, self.1, self.2)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LevelColours {
    pub name_ja: &'static str,
    pub name_en: &'static str,
    pub background: Rgb,
    pub text: Rgb,
}

/// The common emergencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TemplateKind {
    /// 緊急地震速報 (Earthquake Early Warning).
    Earthquake,
    /// 大津波警報 (Major Tsunami Warning).
    Tsunami,
    /// Heavy rain / flood at a 警戒レベル.
    HeavyRainFlood { level: WarningLevel },
    /// 避難指示 (Evacuation Instruction, level 4) with a shelter.
    EvacuationOrder,
    /// J-ALERT ミサイル発射情報 (civil protection).
    Missile,
    /// Fire in this building.
    BuildingFire,
}

impl TemplateKind {
    pub fn all() -> Vec<TemplateKind> {
        let mut all = vec![TemplateKind::Earthquake, TemplateKind::Tsunami];
        all.extend((1..=5).map(|l| TemplateKind::HeavyRainFlood {
            level: WarningLevel(l),
        }));
        all.extend([
            TemplateKind::EvacuationOrder,
            TemplateKind::Missile,
            TemplateKind::BuildingFire,
        ]);
        all
    }

    /// The level a screen shows it at (colour, and rank among several alerts).
    pub fn level(self) -> WarningLevel {
        match self {
            TemplateKind::HeavyRainFlood { level } => level,
            TemplateKind::EvacuationOrder | TemplateKind::BuildingFire => WarningLevel(4),
            TemplateKind::Earthquake | TemplateKind::Tsunami | TemplateKind::Missile => {
                WarningLevel(5)
            }
        }
    }

    /// Whether the text names a shelter (`{shelter}` must then be given).
    pub fn needs_shelter(self) -> bool {
        matches!(
            self,
            TemplateKind::Tsunami | TemplateKind::EvacuationOrder | TemplateKind::BuildingFire
        )
    }

    fn texts(self) -> &'static [(&'static str, &'static str, &'static str); 7] {
        match self {
            TemplateKind::Earthquake => &EARTHQUAKE,
            TemplateKind::Tsunami => &TSUNAMI,
            TemplateKind::HeavyRainFlood { level } => &RAIN[usize::from(level.0 - 1)],
            TemplateKind::EvacuationOrder => &EVACUATION,
            TemplateKind::Missile => &MISSILE,
            TemplateKind::BuildingFire => &FIRE,
        }
    }

    fn cap_fields(
        self,
    ) -> (
        Category,
        &'static str,
        Urgency,
        Severity,
        Certainty,
        ResponseType,
    ) {
        use Category::*;
        match self {
            TemplateKind::Earthquake => (
                Geo,
                "Earthquake Early Warning",
                Urgency::Immediate,
                Severity::Extreme,
                Certainty::Likely,
                ResponseType::Shelter,
            ),
            TemplateKind::Tsunami => (
                Geo,
                "Major Tsunami Warning",
                Urgency::Immediate,
                Severity::Extreme,
                Certainty::Likely,
                ResponseType::Evacuate,
            ),
            TemplateKind::HeavyRainFlood { level } => {
                let (urgency, severity, response) = match level.0 {
                    5 => (Urgency::Immediate, Severity::Extreme, ResponseType::Shelter),
                    4 => (Urgency::Immediate, Severity::Severe, ResponseType::Evacuate),
                    3 => (Urgency::Expected, Severity::Severe, ResponseType::Evacuate),
                    2 => (Urgency::Expected, Severity::Moderate, ResponseType::Prepare),
                    _ => (Urgency::Future, Severity::Minor, ResponseType::Monitor),
                };
                (
                    Met,
                    "Heavy Rain / Flood",
                    urgency,
                    severity,
                    Certainty::Likely,
                    response,
                )
            }
            TemplateKind::EvacuationOrder => (
                Safety,
                "Evacuation Instruction",
                Urgency::Immediate,
                Severity::Severe,
                Certainty::Observed,
                ResponseType::Evacuate,
            ),
            TemplateKind::Missile => (
                Security,
                "Missile Launch",
                Urgency::Immediate,
                Severity::Extreme,
                Certainty::Likely,
                ResponseType::Shelter,
            ),
            TemplateKind::BuildingFire => (
                Fire,
                "Fire in the Building",
                Urgency::Immediate,
                Severity::Severe,
                Certainty::Observed,
                ResponseType::Evacuate,
            ),
        }
    }
}

/// Values for the placeholders.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Placeholders {
    /// Where (a ward, a floor): `{area}`, as Japanese readers read it.
    pub area: String,
    /// Where to go: `{shelter}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shelter: Option<String>,
    /// The shelter's reading (ふりがな), shown beside its Japanese name in the languages that
    /// have no name of their own for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shelter_reading: Option<String>,
    /// Names per language key (`en`, `ko`, ...), e.g. the wards' names from their table or
    /// a shelter's English name; a language without one gets the Japanese.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub names: BTreeMap<String, LocalNames>,
}

/// One language's names for the placeholders.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalNames {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shelter: Option<String>,
}

impl Placeholders {
    /// `{area}` in `lang`.
    pub fn area_in(&self, lang: &str) -> &str {
        self.local(lang)
            .and_then(|n| n.area.as_deref())
            .filter(|a| !a.trim().is_empty())
            .unwrap_or(&self.area)
    }

    /// `{shelter}` in `lang`: its own name there, else the Japanese name with its reading
    /// (outside Japanese), else the Japanese name.
    pub fn shelter_in(&self, lang: &str) -> Option<String> {
        let own = self
            .local(lang)
            .and_then(|n| n.shelter.clone())
            .filter(|s| !s.trim().is_empty());
        let ja = self.shelter.clone().filter(|s| !s.trim().is_empty())?;
        Some(own.unwrap_or_else(|| match &self.shelter_reading {
            Some(r) if lang != "ja" && !r.trim().is_empty() => match lang {
                "ja-easy" | "zh-Hans" | "zh-Hant" => format!("{ja}（{}）", r.trim()),
                _ => format!("{ja} ({})", r.trim()),
            },
            _ => ja,
        }))
    }

    fn local(&self, lang: &str) -> Option<&LocalNames> {
        self.names.get(lang)
    }
}

/// One language's text, ready for the screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderedText {
    pub lang: String,
    pub headline: String,
    pub instruction: String,
    /// 訓練 / TEST marking, shown above everything else, for Exercise and Test alerts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drill_banner: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error(
        "no template text in language {0:?}; available: ja, ja-easy, en, zh-Hans, zh-Hant, ko, vi"
    )]
    UnknownLanguage(String),
    #[error("placeholder {{{0}}} needs a value: fill in the {0} field")]
    MissingPlaceholder(&'static str),
}

/// Fills `kind`'s text in `lang`, with the drill banner when `status` is Exercise or Test.
pub fn render(
    kind: TemplateKind,
    lang: &str,
    values: &Placeholders,
    status: Status,
) -> Result<RenderedText, TemplateError> {
    let (_, headline, instruction) = kind
        .texts()
        .iter()
        .find(|(l, _, _)| *l == lang)
        .ok_or_else(|| TemplateError::UnknownLanguage(lang.to_owned()))?;
    let area = values.area_in(lang);
    if area.trim().is_empty() {
        return Err(TemplateError::MissingPlaceholder("area"));
    }
    let shelter = match (values.shelter_in(lang), kind.needs_shelter()) {
        (Some(s), _) => s,
        (None, true) => return Err(TemplateError::MissingPlaceholder("shelter")),
        (None, false) => String::new(),
    };
    let fill = |t: &str| fill(t, area, &shelter);
    Ok(RenderedText {
        lang: lang.to_owned(),
        headline: fill(headline),
        instruction: fill(instruction),
        drill_banner: drill_banner(status, lang).map(str::to_owned),
    })
}

/// Replaces placeholders in one pass, so braces inside the values are never re-expanded.
fn fill(template: &str, area: &str, shelter: &str) -> String {
    let mut out = String::with_capacity(template.len() + area.len() + shelter.len());
    let mut rest = template;
    while let Some(at) = rest.find('{') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("{area}") {
            out.push_str(area);
            rest = after;
        } else if let Some(after) = tail.strip_prefix("{shelter}") {
            out.push_str(shelter);
            rest = after;
        } else {
            out.push('{');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

/// Builds one CAP `<info>` per language from a template.
pub fn cap_infos(
    kind: TemplateKind,
    values: &Placeholders,
    status: Status,
    expires: Option<DateTime<FixedOffset>>,
) -> Result<Vec<Info>, TemplateError> {
    let (category, event, urgency, severity, certainty, response) = kind.cap_fields();
    LANGUAGES
        .iter()
        .map(|lang| {
            let text = render(kind, lang, values, status)?;
            let mut info = Info::new(lang, category, event, urgency, severity, certainty);
            info.response_types = vec![response];
            info.expires = expires;
            info.headline = Some(match &text.drill_banner {
                Some(banner) => format!("{banner} {}", text.headline),
                None => text.headline,
            });
            info.instruction = Some(text.instruction);
            Ok(info)
        })
        .collect()
}

/// The marking an Exercise (訓練) or Test (試験) alert carries in `lang`; `None` for Actual.
pub fn drill_banner(status: Status, lang: &str) -> Option<&'static str> {
    let table = match status {
        Status::Exercise => &EXERCISE_BANNER,
        Status::Test => &TEST_BANNER,
        Status::Actual | Status::System | Status::Draft => return None,
    };
    table
        .iter()
        .find(|(l, _)| *l == lang)
        .or_else(|| table.iter().find(|(l, _)| *l == "en"))
        .map(|(_, text)| *text)
}

const EXERCISE_BANNER: [(&str, &str); 7] = [
    ("ja", "【訓練】これは訓練です"),
    (
        "ja-easy",
        "【くんれん】これは くんれん です。ほんとうでは ありません",
    ),
    ("en", "[DRILL] This is a drill"),
    ("zh-Hans", "【演习】这是演习"),
    ("zh-Hant", "【演習】這是演習"),
    ("ko", "[훈련] 이것은 훈련입니다"),
    ("vi", "[DIỄN TẬP] Đây là diễn tập"),
];

const TEST_BANNER: [(&str, &str); 7] = [
    ("ja", "【試験】これは試験です"),
    (
        "ja-easy",
        "【しけん】これは しけん です。ほんとうでは ありません",
    ),
    ("en", "[TEST] This is a test"),
    ("zh-Hans", "【测试】这是测试"),
    ("zh-Hant", "【測試】這是測試"),
    ("ko", "[시험] 이것은 시험입니다"),
    ("vi", "[THỬ NGHIỆM] Đây là thử nghiệm"),
];

type Texts = [(&'static str, &'static str, &'static str); 7];

const EARTHQUAKE: Texts = [
    (
        "ja",
        "緊急地震速報　{area}で強い揺れ",
        "強い揺れに警戒してください。頭を守り、丈夫な机の下など安全な場所で、揺れがおさまるまで動かないでください。",
    ),
    (
        "ja-easy",
        "つよい じしんが きます（{area}）",
        "あたまを まもって ください。つくえの したに はいって ください。ゆれが とまるまで うごかないで ください。",
    ),
    (
        "en",
        "Earthquake Early Warning: strong shaking expected in {area}",
        "Protect your head. Take cover under a sturdy desk and stay there until the shaking stops.",
    ),
    (
        "zh-Hans",
        "紧急地震速报：{area}将有强烈摇晃",
        "请保护头部，躲到坚固的桌子下面，在摇晃停止之前不要移动。",
    ),
    (
        "zh-Hant",
        "緊急地震速報：{area}將有強烈搖晃",
        "請保護頭部，躲到堅固的桌子下面，在搖晃停止之前不要移動。",
    ),
    (
        "ko",
        "긴급지진속보: {area}에 강한 흔들림 예상",
        "머리를 보호하고 튼튼한 책상 아래로 몸을 피하세요. 흔들림이 멈출 때까지 움직이지 마세요.",
    ),
    (
        "vi",
        "Cảnh báo sớm động đất: dự báo rung lắc mạnh tại {area}",
        "Hãy bảo vệ đầu, nấp dưới gầm bàn chắc chắn và ở yên cho đến khi hết rung lắc.",
    ),
];

const TSUNAMI: Texts = [
    (
        "ja",
        "大津波警報　{area}",
        "ただちに海岸や川沿いから離れ、高台や{shelter}など、できるだけ高い場所へ避難してください。",
    ),
    (
        "ja-easy",
        "おおきな つなみが きます（{area}）",
        "すぐに うみや かわから はなれて ください。{shelter}など たかい ところへ にげて ください。",
    ),
    (
        "en",
        "Major Tsunami Warning: {area}",
        "Leave the coast and riverbanks now. Evacuate to high ground or a tall, sturdy building such as {shelter}.",
    ),
    (
        "zh-Hans",
        "大海啸警报：{area}",
        "请立即远离海岸和河边，前往高地或{shelter}等尽可能高的地方避难。",
    ),
    (
        "zh-Hant",
        "大海嘯警報：{area}",
        "請立即遠離海岸和河邊，前往高地或{shelter}等盡可能高的地方避難。",
    ),
    (
        "ko",
        "대형 쓰나미 경보: {area}",
        "즉시 해안과 강가에서 벗어나 고지대나 {shelter} 등 가능한 한 높은 곳으로 대피하세요.",
    ),
    (
        "vi",
        "Cảnh báo sóng thần lớn: {area}",
        "Hãy rời xa bờ biển và bờ sông ngay. Sơ tán lên chỗ cao hoặc tòa nhà cao, chắc chắn như {shelter}.",
    ),
];

/// Heavy rain / flood, index = level - 1. The Japanese are the Cabinet Office's level names
/// and their 住民がとるべき行動.
const RAIN: [Texts; 5] = [
    [
        (
            "ja",
            "【警戒レベル1】早期注意情報　{area}",
            "災害への心構えを高めてください。最新の気象情報に注意してください。",
        ),
        (
            "ja-easy",
            "【レベル1】さいがいに ちゅうい（{area}）",
            "これからの じょうほうに ちゅうい して ください。",
        ),
        (
            "en",
            "[Alert Level 1] Early Warning Information: {area}",
            "Be prepared for a disaster. Watch for the latest weather information.",
        ),
        (
            "zh-Hans",
            "【警戒级别1】早期注意信息：{area}",
            "请提高防灾意识，留意最新的气象信息。",
        ),
        (
            "zh-Hant",
            "【警戒等級1】早期注意資訊：{area}",
            "請提高防災意識，留意最新的氣象資訊。",
        ),
        (
            "ko",
            "[경계레벨 1] 조기주의정보: {area}",
            "재해에 대비하고 최신 기상 정보에 주의하세요.",
        ),
        (
            "vi",
            "[Cấp cảnh báo 1] Thông tin chú ý sớm: {area}",
            "Hãy sẵn sàng ứng phó thiên tai và theo dõi thông tin thời tiết mới nhất.",
        ),
    ],
    [
        (
            "ja",
            "【警戒レベル2】大雨・洪水注意報　{area}",
            "ハザードマップなどで、避難の方法や場所を確認してください。",
        ),
        (
            "ja-easy",
            "【レベル2】おおあめ・こうずいに ちゅうい（{area}）",
            "どこに どうやって にげるか たしかめて ください。",
        ),
        (
            "en",
            "[Alert Level 2] Heavy Rain / Flood Advisory: {area}",
            "Check how and where you would evacuate, for example on a hazard map.",
        ),
        (
            "zh-Hans",
            "【警戒级别2】大雨・洪水注意报：{area}",
            "请通过灾害风险地图等确认避难方法和避难场所。",
        ),
        (
            "zh-Hant",
            "【警戒等級2】大雨・洪水注意報：{area}",
            "請透過災害風險地圖等確認避難方法和避難場所。",
        ),
        (
            "ko",
            "[경계레벨 2] 호우・홍수주의보: {area}",
            "해저드맵 등으로 대피 방법과 장소를 확인하세요.",
        ),
        (
            "vi",
            "[Cấp cảnh báo 2] Chú ý mưa lớn, lũ lụt: {area}",
            "Hãy kiểm tra cách sơ tán và nơi sơ tán, ví dụ trên bản đồ nguy cơ.",
        ),
    ],
    [
        (
            "ja",
            "【警戒レベル3】高齢者等避難　{area}",
            "危険な場所から高齢者等は避難してください。ほかの人も避難の準備をしてください。",
        ),
        (
            "ja-easy",
            "【レベル3】おとしよりなどは ひなん して ください（{area}）",
            "おとしよりや からだの ふじゆうな ひとは あぶない ところから にげて ください。ほかの ひとも にげる じゅんびを して ください。",
        ),
        (
            "en",
            "[Alert Level 3] Evacuation of Elderly People, etc.: {area}",
            "Older people and others who need time must evacuate from dangerous places. Everyone else, get ready to evacuate.",
        ),
        (
            "zh-Hans",
            "【警戒级别3】老年人等避难：{area}",
            "老年人等需要时间避难的人请从危险场所撤离。其他人请做好避难准备。",
        ),
        (
            "zh-Hant",
            "【警戒等級3】高齡者等避難：{area}",
            "高齡者等需要時間避難的人請從危險場所撤離。其他人請做好避難準備。",
        ),
        (
            "ko",
            "[경계레벨 3] 고령자등 피난: {area}",
            "고령자 등 대피에 시간이 걸리는 분은 위험한 장소에서 대피하세요. 다른 분들도 대피 준비를 하세요.",
        ),
        (
            "vi",
            "[Cấp cảnh báo 3] Sơ tán người cao tuổi, v.v.: {area}",
            "Người cao tuổi và người cần thời gian hãy sơ tán khỏi nơi nguy hiểm. Những người khác hãy chuẩn bị sơ tán.",
        ),
    ],
    [
        (
            "ja",
            "【警戒レベル4】避難指示　{area}",
            "危険な場所から全員避難してください。",
        ),
        (
            "ja-easy",
            "【レベル4】ひなん して ください（{area}）",
            "あぶない ところに いる ひとは みんな にげて ください。",
        ),
        (
            "en",
            "[Alert Level 4] Evacuation Instruction: {area}",
            "Everyone must evacuate from dangerous places.",
        ),
        (
            "zh-Hans",
            "【警戒级别4】避难指示：{area}",
            "所有人请从危险场所撤离避难。",
        ),
        (
            "zh-Hant",
            "【警戒等級4】避難指示：{area}",
            "所有人請從危險場所撤離避難。",
        ),
        (
            "ko",
            "[경계레벨 4] 피난지시: {area}",
            "위험한 장소에 있는 사람은 모두 대피하세요.",
        ),
        (
            "vi",
            "[Cấp cảnh báo 4] Chỉ thị sơ tán: {area}",
            "Tất cả mọi người hãy sơ tán khỏi nơi nguy hiểm.",
        ),
    ],
    [
        (
            "ja",
            "【警戒レベル5】緊急安全確保　{area}",
            "命の危険　直ちに安全確保！　建物の上の階など、少しでも安全な場所へ移ってください。",
        ),
        (
            "ja-easy",
            "【レベル5】いのちが あぶない（{area}）",
            "すぐに いのちを まもって ください。たてものの うえの かいなど すこしでも あんぜんな ところへ いって ください。",
        ),
        (
            "en",
            "[Alert Level 5] Emergency Safety Measures: {area}",
            "Your life is in danger. Secure your safety now: move to the safest place you can reach, such as an upper floor.",
        ),
        (
            "zh-Hans",
            "【警戒级别5】紧急确保安全：{area}",
            "生命危险，请立即确保安全！请转移到建筑物高层等尽可能安全的地方。",
        ),
        (
            "zh-Hant",
            "【警戒等級5】緊急確保安全：{area}",
            "生命危險，請立即確保安全！請轉移到建築物高樓層等盡可能安全的地方。",
        ),
        (
            "ko",
            "[경계레벨 5] 긴급안전확보: {area}",
            "생명이 위험합니다. 즉시 안전을 확보하세요! 건물 위층 등 조금이라도 안전한 곳으로 이동하세요.",
        ),
        (
            "vi",
            "[Cấp cảnh báo 5] Bảo đảm an toàn khẩn cấp: {area}",
            "Tính mạng đang gặp nguy hiểm. Hãy bảo đảm an toàn ngay: di chuyển đến nơi an toàn nhất có thể, như tầng trên của tòa nhà.",
        ),
    ],
];

const EVACUATION: Texts = [
    (
        "ja",
        "【警戒レベル4】避難指示　{area}",
        "危険な場所から全員避難してください。避難場所：{shelter}",
    ),
    (
        "ja-easy",
        "ひなん して ください（{area}）",
        "あぶない ところに いる ひとは みんな にげて ください。にげる ところ：{shelter}",
    ),
    (
        "en",
        "Evacuation Instruction (Alert Level 4): {area}",
        "Everyone must evacuate from dangerous places. Go to: {shelter}",
    ),
    (
        "zh-Hans",
        "避难指示（警戒级别4）：{area}",
        "所有人请从危险场所撤离。避难场所：{shelter}",
    ),
    (
        "zh-Hant",
        "避難指示（警戒等級4）：{area}",
        "所有人請從危險場所撤離。避難場所：{shelter}",
    ),
    (
        "ko",
        "피난지시 (경계레벨 4): {area}",
        "위험한 장소에 있는 사람은 모두 대피하세요. 대피 장소: {shelter}",
    ),
    (
        "vi",
        "Chỉ thị sơ tán (Cấp cảnh báo 4): {area}",
        "Tất cả mọi người hãy sơ tán khỏi nơi nguy hiểm. Nơi sơ tán: {shelter}",
    ),
];

const MISSILE: Texts = [
    (
        "ja",
        "ミサイル発射情報　{area}",
        "ミサイルが発射されたものとみられます。直ちに建物の中、又は地下に避難してください。窓から離れてください。",
    ),
    (
        "ja-easy",
        "ミサイルが とんで くるかも しれません（{area}）",
        "すぐに たてものの なかか ちかに にげて ください。まどから はなれて ください。",
    ),
    (
        "en",
        "Missile launch alert: {area}",
        "A missile appears to have been launched. Take shelter inside a building or underground now. Stay away from windows.",
    ),
    (
        "zh-Hans",
        "导弹发射信息：{area}",
        "疑似有导弹发射。请立即进入建筑物内或地下避难，并远离窗户。",
    ),
    (
        "zh-Hant",
        "飛彈發射資訊：{area}",
        "疑似有飛彈發射。請立即進入建築物內或地下避難，並遠離窗戶。",
    ),
    (
        "ko",
        "미사일 발사 정보: {area}",
        "미사일이 발사된 것으로 보입니다. 즉시 건물 안이나 지하로 대피하고 창문에서 떨어지세요.",
    ),
    (
        "vi",
        "Thông tin phóng tên lửa: {area}",
        "Có vẻ một tên lửa đã được phóng. Hãy trú ẩn ngay trong tòa nhà hoặc dưới lòng đất. Tránh xa cửa sổ.",
    ),
];

const FIRE: Texts = [
    (
        "ja",
        "火事です　{area}で火災が発生しました",
        "係員の指示に従い、{shelter}へ避難してください。エレベーターは使わないでください。",
    ),
    (
        "ja-easy",
        "かじ です（{area}）",
        "かかりの ひとの いうことを きいて、{shelter}へ にげて ください。エレベーターは つかわないで ください。",
    ),
    (
        "en",
        "Fire in the building: {area}",
        "Follow staff instructions and evacuate to {shelter}. Do not use the elevators.",
    ),
    (
        "zh-Hans",
        "楼内发生火灾：{area}",
        "请听从工作人员的指示，前往{shelter}避难。请勿使用电梯。",
    ),
    (
        "zh-Hant",
        "建築物內發生火災：{area}",
        "請聽從工作人員的指示，前往{shelter}避難。請勿使用電梯。",
    ),
    (
        "ko",
        "건물 내 화재 발생: {area}",
        "직원의 안내에 따라 {shelter}(으)로 대피하세요. 엘리베이터를 사용하지 마세요.",
    ),
    (
        "vi",
        "Hỏa hoạn trong tòa nhà: {area}",
        "Hãy làm theo hướng dẫn của nhân viên và sơ tán đến {shelter}. Không sử dụng thang máy.",
    ),
];
