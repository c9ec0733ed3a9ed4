//! Which wards a JMA document reaches: JMA's area codes onto ward ids, one list per JMA code
//! table (the tables reuse numbers: tsunami region 510 is not seismic region 510).
//!
//! Defaults for Osaka City, each from where JMA writes it:
//! - `seismic_city`: 地震情報／細分区域（市町村等）, the ward's 全国地方公共団体コード + `00`
//!   (`2712700` 大阪北区), as in JMA's intensity samples (32-35_07_07, 32-39_11_05 VXSE53);
//!   `content::wards` holds the codes.
//! - `seismic_region`: 地震情報／細分区域 `520` 大阪府北部, the region all 24 wards lie in
//!   (the same samples list every ward under it); EEW and 震度速報 name regions, not wards.
//! - `tsunami_region`: 津波予報区 `510` 大阪府 (JMA's tsunami samples, e.g. 32-39_12_07
//!   VTSE41). Every ward gets it by default; a city may narrow it to the coastal wards.
//! - `municipal`: 気象警報・注意報 市町村等 `2710000` 大阪市 (JMA's warning areas treat a
//!   designated city as one), also used by 土砂災害警戒情報, 竜巻注意情報 and flood areas.
//! - `forecast_region`: 府県予報区 / 一次細分区域 `270000` 大阪府, named by 記録的短時間大雨情報
//!   (sample 18_01_01 VPOA50), 竜巻注意情報 and river forecasts.

use std::collections::BTreeSet;

use alerts::area_map::WardMatch;
use content::ids::WardId;
use content::wards::OSAKA_WARDS;
use serde::{Deserialize, Serialize};

/// `[jma.areas]` in the controller's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AreaCodes {
    /// Each ward and the codes that name it alone.
    pub wards: Vec<WardCodes>,
    /// 地震情報／細分区域 codes reaching the wards listed (empty list: every ward).
    #[serde(default)]
    pub seismic_region: Vec<RegionCodes>,
    /// 津波予報区 codes.
    #[serde(default)]
    pub tsunami_region: Vec<RegionCodes>,
    /// 市町村等 codes of weather warnings, landslide, tornado and flood areas.
    #[serde(default)]
    pub municipal: Vec<RegionCodes>,
    /// 府県予報区 / 一次細分区域 codes.
    #[serde(default)]
    pub forecast_region: Vec<RegionCodes>,
    /// Whether 南海トラフ地震臨時情報 concerns the city (Osaka City lies in the
    /// 南海トラフ地震防災対策推進地域).
    #[serde(default = "yes")]
    pub nankai_trough: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WardCodes {
    pub ward: WardId,
    /// 地震情報／細分区域（市町村等） codes of the ward.
    #[serde(default)]
    pub seismic_city: Vec<String>,
}

/// A code and the wards it reaches (none listed: all of them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionCodes {
    pub code: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wards: Vec<WardId>,
}

/// The JMA code tables, for [`AreaCodes::reach`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    SeismicCity,
    SeismicRegion,
    TsunamiRegion,
    Municipal,
    ForecastRegion,
}

impl Default for AreaCodes {
    fn default() -> Self {
        let all = |code: &str| {
            vec![RegionCodes {
                code: code.into(),
                wards: Vec::new(),
            }]
        };
        AreaCodes {
            wards: OSAKA_WARDS
                .iter()
                .map(|w| WardCodes {
                    ward: w.ward_id(),
                    seismic_city: vec![format!("{}00", w.code)],
                })
                .collect(),
            seismic_region: all("520"),
            tsunami_region: all("510"),
            municipal: all("2710000"),
            forecast_region: all("270000"),
            nankai_trough: true,
        }
    }
}

impl AreaCodes {
    /// A table in which every code the document `xml` mentions reaches `wards`: for tests
    /// and rehearsals with JMA's documents of other places.
    pub fn reaching_all(xml: &str, wards: &[&str]) -> AreaCodes {
        let mut codes: Vec<String> = xml
            .split("<Code>")
            .skip(1)
            .filter_map(|rest| rest.split('<').next())
            .map(str::to_owned)
            .collect();
        codes.sort();
        codes.dedup();
        let regions: Vec<RegionCodes> = codes
            .iter()
            .map(|c| RegionCodes {
                code: c.clone(),
                wards: wards.iter().map(|w| (*w).into()).collect(),
            })
            .collect();
        AreaCodes {
            wards: wards
                .iter()
                .map(|w| WardCodes {
                    ward: (*w).into(),
                    seismic_city: codes.clone(),
                })
                .collect(),
            seismic_region: regions.clone(),
            tsunami_region: regions.clone(),
            municipal: regions.clone(),
            forecast_region: regions,
            nankai_trough: true,
        }
    }

    /// The wards that `codes` of `table` reach.
    pub fn reach<'a>(&self, table: Table, codes: impl IntoIterator<Item = &'a str>) -> WardMatch {
        let mut wards = BTreeSet::new();
        for code in codes {
            if table == Table::SeismicCity {
                wards.extend(
                    self.wards
                        .iter()
                        .filter(|w| w.seismic_city.iter().any(|c| c == code))
                        .map(|w| w.ward.clone()),
                );
                continue;
            }
            let regions = match table {
                Table::SeismicRegion => &self.seismic_region,
                Table::TsunamiRegion => &self.tsunami_region,
                Table::Municipal => &self.municipal,
                Table::ForecastRegion => &self.forecast_region,
                Table::SeismicCity => unreachable!(),
            };
            for region in regions.iter().filter(|r| r.code == code) {
                if region.wards.is_empty() {
                    return WardMatch::All;
                }
                wards.extend(region.wards.iter().cloned());
            }
        }
        WardMatch::Wards(wards)
    }

    /// Every ward id the table names, for checking against the fleet's wards at start.
    pub fn ward_ids(&self) -> BTreeSet<&WardId> {
        let regions = [
            &self.seismic_region,
            &self.tsunami_region,
            &self.municipal,
            &self.forecast_region,
        ];
        self.wards
            .iter()
            .map(|w| &w.ward)
            .chain(regions.into_iter().flatten().flat_map(|r| &r.wards))
            .collect()
    }
}

/// Whether a match reaches anyone.
pub fn reaches(m: &WardMatch) -> bool {
    match m {
        WardMatch::All => true,
        WardMatch::Wards(w) => !w.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_codes_reach_the_named_ward_or_the_whole_city() {
        let areas = AreaCodes::default();
        assert_eq!(
            areas.reach(Table::SeismicCity, ["2712700", "9999999"]),
            WardMatch::Wards([WardId::from("kita")].into())
        );
        assert_eq!(areas.reach(Table::TsunamiRegion, ["510"]), WardMatch::All);
        // The same number in another table reaches nobody.
        assert_eq!(
            areas.reach(Table::SeismicRegion, ["510"]),
            WardMatch::Wards(BTreeSet::new())
        );
        assert_eq!(areas.reach(Table::Municipal, ["2710000"]), WardMatch::All);
        assert_eq!(areas.ward_ids().len(), 24);
    }

    #[test]
    fn a_region_may_be_narrowed_to_some_wards() {
        let areas = AreaCodes {
            tsunami_region: vec![RegionCodes {
                code: "510".into(),
                wards: vec!["minato".into(), "taisho".into()],
            }],
            ..AreaCodes::default()
        };
        assert_eq!(
            areas.reach(Table::TsunamiRegion, ["510"]),
            WardMatch::Wards(["minato".into(), "taisho".into()].into())
        );
    }
}
