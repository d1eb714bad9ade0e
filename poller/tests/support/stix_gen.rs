//! Generated STIX 1.2 packages of address indicators, for throughput and
//! memory measurements: the poller's STIX tests and the host's ingest
//! benchmark include this file (`#[path]`), so both measure the same input.
#![allow(dead_code)]

use std::fmt::Write;

/// The start of a package in python-stix's layout (as in the captures).
const HEAD: &str = concat!(
    r#"<stix:STIX_Package xmlns:AddressObj="http://cybox.mitre.org/objects#AddressObject-2" "#,
    r#"xmlns:cybox="http://cybox.mitre.org/cybox-2" xmlns:example="http://example.com" "#,
    r#"xmlns:indicator="http://stix.mitre.org/Indicator-2" "#,
    r#"xmlns:marking="http://data-marking.mitre.org/Marking-1" "#,
    r#"xmlns:stix="http://stix.mitre.org/stix-1" xmlns:stixCommon="http://stix.mitre.org/common-1" "#,
    r#"xmlns:stixVocabs="http://stix.mitre.org/default_vocabularies-1" "#,
    r#"xmlns:tlpMarking="http://data-marking.mitre.org/extensions/MarkingStructure#TLP-1" "#,
    r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" "#,
    r#"id="example:Package-big" version="1.2" timestamp="2024-01-15T12:00:00+00:00">"#,
    "\n    <stix:STIX_Header>",
    "\n        <stix:Title>Generated</stix:Title>",
    "\n        <stix:Handling>",
    "\n            <marking:Marking>",
    "\n                <marking:Controlled_Structure>//node() | //@*</marking:Controlled_Structure>",
    "\n                ",
    r#"<marking:Marking_Structure xsi:type="tlpMarking:TLPMarkingStructureType" color="GREEN"/>"#,
    "\n            </marking:Marking>",
    "\n        </stix:Handling>",
    "\n    </stix:STIX_Header>",
    "\n    <stix:Indicators>\n",
);

const TAIL: &str = "    </stix:Indicators>\n</stix:STIX_Package>\n";

/// The address of the `i`th indicator: `10.x.y.z`.
pub fn address(i: usize) -> String {
    format!("10.{}.{}.{}", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff)
}

/// The id of the `i`th indicator of [`python_stix_package`]: a UUID, as
/// python-stix writes them (random-looking, deterministic).
pub fn python_stix_id(i: usize) -> String {
    let mut x = (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut next = || {
        x ^= x >> 29;
        x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x ^= x >> 32;
        x
    };
    let (a, b) = (next(), next());
    format!(
        "example:indicator-{:08x}-{:04x}-5{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    )
}

/// The id of the `i`th indicator of [`compact_package`].
pub fn compact_id(i: usize) -> String {
    format!("example:indicator-{i:08}")
}

/// A package of `n` address indicators, each exactly as python-stix writes
/// them (about 1.2 kB of XML per indicator): title, type, validity,
/// observable with object and properties, confidence.
pub fn python_stix_package(n: usize) -> String {
    let mut xml = String::with_capacity(n * 1_300);
    xml.push_str(HEAD);
    let ts = "2024-01-15T12:00:00+00:00";
    for i in 0..n {
        let id = python_stix_id(i);
        let uuid = id.trim_start_matches("example:indicator-");
        let ip = address(i);
        let confidence = ["High", "Medium", "Low"][i % 3];
        let lines = [
            format!(
                r#"        <stix:Indicator id="{id}" timestamp="{ts}" xsi:type="indicator:IndicatorType">"#
            ),
            format!("            <indicator:Title>Generated {i}</indicator:Title>"),
            r#"            <indicator:Type xsi:type="stixVocabs:IndicatorTypeVocab-1.1">IP Watchlist</indicator:Type>"#.to_owned(),
            "            <indicator:Valid_Time_Position>".to_owned(),
            format!(r#"                <indicator:Start_Time precision="second">{ts}</indicator:Start_Time>"#),
            r#"                <indicator:End_Time precision="second">2099-01-15T12:00:00+00:00</indicator:End_Time>"#.to_owned(),
            "            </indicator:Valid_Time_Position>".to_owned(),
            format!(r#"            <indicator:Observable id="example:Observable-{uuid}">"#),
            format!(r#"                <cybox:Object id="example:Address-{uuid}">"#),
            r#"                    <cybox:Properties xsi:type="AddressObj:AddressObjectType" category="ipv4-addr">"#.to_owned(),
            format!(r#"                        <AddressObj:Address_Value condition="Equals">{ip}</AddressObj:Address_Value>"#),
            "                    </cybox:Properties>".to_owned(),
            "                </cybox:Object>".to_owned(),
            "            </indicator:Observable>".to_owned(),
            format!(r#"            <indicator:Confidence timestamp="{ts}">"#),
            format!("                <stixCommon:Value>{confidence}</stixCommon:Value>"),
            "            </indicator:Confidence>".to_owned(),
            "        </stix:Indicator>".to_owned(),
        ];
        for line in lines {
            xml.push_str(&line);
            xml.push('\n');
        }
    }
    xml.push_str(TAIL);
    xml
}

/// A package of `n` address indicators with just an id and an observable
/// (about 330 bytes each), quick to parse even unoptimised.
pub fn compact_package(n: usize) -> String {
    let mut xml = String::with_capacity(n * 340);
    xml.push_str(HEAD);
    for i in 0..n {
        let _ = writeln!(
            xml,
            concat!(
                r#"<stix:Indicator id="{id}"><indicator:Observable><cybox:Object>"#,
                r#"<cybox:Properties xsi:type="AddressObj:AddressObjectType" category="ipv4-addr">"#,
                r#"<AddressObj:Address_Value condition="Equals">{ip}</AddressObj:Address_Value>"#,
                "</cybox:Properties></cybox:Object></indicator:Observable></stix:Indicator>"
            ),
            id = compact_id(i),
            ip = address(i)
        );
    }
    xml.push_str(TAIL);
    xml
}
