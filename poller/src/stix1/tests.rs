//! Hand-written STIX snippets, one feature each.

use time::macros::datetime;

use super::*;
use crate::indicator::IndicatorKind;

const NS: &str = concat!(
    r#"xmlns:stix="http://stix.mitre.org/stix-1" "#,
    r#"xmlns:indicator="http://stix.mitre.org/Indicator-2" "#,
    r#"xmlns:stixCommon="http://stix.mitre.org/common-1" "#,
    r#"xmlns:cybox="http://cybox.mitre.org/cybox-2" "#,
    r#"xmlns:cyboxCommon="http://cybox.mitre.org/common-2" "#,
    r#"xmlns:AddressObj="http://cybox.mitre.org/objects#AddressObject-2" "#,
    r#"xmlns:DomainNameObj="http://cybox.mitre.org/objects#DomainNameObject-1" "#,
    r#"xmlns:URIObj="http://cybox.mitre.org/objects#URIObject-2" "#,
    r#"xmlns:LinkObj="http://cybox.mitre.org/objects#LinkObject-1" "#,
    r#"xmlns:HostnameObj="http://cybox.mitre.org/objects#HostnameObject-1" "#,
    r#"xmlns:FileObj="http://cybox.mitre.org/objects#FileObject-2" "#,
    r#"xmlns:WinFileObj="http://cybox.mitre.org/objects#WinFileObject-2" "#,
    r#"xmlns:EmailMessageObj="http://cybox.mitre.org/objects#EmailMessageObject-2" "#,
    r#"xmlns:NetworkConnectionObj="http://cybox.mitre.org/objects#NetworkConnectionObject-2" "#,
    r#"xmlns:marking="http://data-marking.mitre.org/Marking-1" "#,
    r#"xmlns:tlpMarking="http://data-marking.mitre.org/extensions/MarkingStructure#TLP-1" "#,
    r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" "#,
    r#"xmlns:example="http://example.com""#,
);

fn package(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<stix:STIX_Package {NS} id="example:Package-1" version="1.2" timestamp="2024-01-15T12:00:00+00:00">{body}</stix:STIX_Package>"#
    )
}

fn header(title: &str, description: &str, tlp: &str) -> String {
    format!(
        r#"<stix:STIX_Header><stix:Title>{title}</stix:Title><stix:Description>{description}</stix:Description>
<stix:Handling><marking:Marking><marking:Controlled_Structure>//node() | //@*</marking:Controlled_Structure>
<marking:Marking_Structure xsi:type="tlpMarking:TLPMarkingStructureType" color="{tlp}"/></marking:Marking></stix:Handling></stix:STIX_Header>"#
    )
}

fn indicator(id: &str, inner: &str) -> String {
    format!(
        r#"<stix:Indicator id="{id}" timestamp="2024-02-01T00:00:00Z" xsi:type="indicator:IndicatorType">{inner}</stix:Indicator>"#
    )
}

/// An indicator wrapped in `stix:Indicators`.
fn indicators(list: &[String]) -> String {
    format!("<stix:Indicators>{}</stix:Indicators>", list.concat())
}

fn observable(properties: &str) -> String {
    format!(
        r#"<indicator:Observable id="example:Observable-{n}"><cybox:Object>{properties}</cybox:Object></indicator:Observable>"#,
        n = properties.len()
    )
}

fn address(category: &str, attrs: &str, value: &str) -> String {
    format!(
        r#"<cybox:Properties xsi:type="AddressObj:AddressObjectType" category="{category}"><AddressObj:Address_Value {attrs}>{value}</AddressObj:Address_Value></cybox:Properties>"#
    )
}

fn domain(attrs: &str, value: &str) -> String {
    format!(
        r#"<cybox:Properties xsi:type="DomainNameObj:DomainNameObjectType" type="FQDN"><DomainNameObj:Value {attrs}>{value}</DomainNameObj:Value></cybox:Properties>"#
    )
}

fn parse(xml: &str) -> (Vec<Indicator>, ParseReport) {
    parse_with(xml, "feed")
}

fn parse_with(xml: &str, source: &str) -> (Vec<Indicator>, ParseReport) {
    let mut out = Vec::new();
    let ctx = StixContext {
        source,
        collection: Some("coll"),
    };
    let report = parse_package(xml.as_bytes(), &ctx, &mut |i| out.push(i)).expect("parses");
    assert_eq!(report.indicators, out.len());
    for i in &out {
        i.check().expect("emitted indicators are consistent");
    }
    (out, report)
}

fn values(out: &[Indicator]) -> Vec<(String, IndicatorKind, String)> {
    out.iter()
        .map(|i| (i.id.clone(), i.kind, i.value.clone()))
        .collect()
}

fn v(id: &str, kind: IndicatorKind, value: &str) -> (String, IndicatorKind, String) {
    (id.to_owned(), kind, value.to_owned())
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect()
}

#[test]
fn single_address_with_metadata() {
    let xml = package(&format!(
        "{}{}",
        header("Pkg title", "Pkg description", "AMBER"),
        indicators(&[indicator(
            "example:indicator-1",
            &format!(
                r#"<indicator:Title>C2</indicator:Title>
<indicator:Type xsi:type="stixVocabs:IndicatorTypeVocab-1.1">IP Watchlist</indicator:Type>
<indicator:Description>C2 server</indicator:Description>
<indicator:Valid_Time_Position><indicator:Start_Time>2024-01-15T12:00:00+00:00</indicator:Start_Time>
<indicator:End_Time>2030-01-15T12:00:00+01:00</indicator:End_Time></indicator:Valid_Time_Position>
{}
<indicator:Kill_Chain_Phases><stixCommon:Kill_Chain_Phase name="Command and Control" phase_id="stix:TTP-1"/>
<stixCommon:Kill_Chain_Phase phase_id="stix:TTP-2"/></indicator:Kill_Chain_Phases>
<indicator:Confidence><stixCommon:Value>High</stixCommon:Value></indicator:Confidence>"#,
                observable(&address(
                    "ipv4-addr",
                    r#"condition="Equals""#,
                    " 198.51.100.1 "
                ))
            )
        )]),
    ));
    let (out, report) = parse(&xml);
    assert_eq!(out.len(), 1);
    let i = &out[0];
    assert_eq!(i.id, "example:indicator-1");
    assert_eq!(i.kind, IndicatorKind::Ipv4);
    assert_eq!(i.value, "198.51.100.1");
    assert_eq!(i.source, "feed");
    assert_eq!(i.collection.as_deref(), Some("coll"));
    assert_eq!(i.description.as_deref(), Some("C2 server"));
    assert_eq!(i.threat_type.as_deref(), Some("IP Watchlist"));
    assert_eq!(i.confidence, Some(85));
    assert_eq!(i.valid_from, Some(datetime!(2024-01-15 12:00:00 UTC)));
    assert_eq!(i.valid_until, Some(datetime!(2030-01-15 11:00:00 UTC)));
    assert_eq!(i.kill_chain, ["Command and Control", "stix:TTP-2"]);
    assert_eq!(i.tags, ["tlp:amber"]);
    assert_eq!(
        i.fields.get("stix_timestamp").and_then(|v| v.as_str()),
        Some("2024-02-01T00:00:00Z")
    );
    assert_eq!(report.indicators, 1);
    assert!(report.unsupported.is_empty() && report.invalid.is_empty());
    assert!(report.examples.is_empty());
}

#[test]
fn description_falls_back_to_title_and_timestamp_to_package() {
    let xml = package(&indicators(&[format!(
        r#"<stix:Indicator id="example:indicator-2"><indicator:Title>Only a title</indicator:Title>{}</stix:Indicator>"#,
        observable(&domain("", "Evil.Example."))
    )]));
    let (out, _) = parse(&xml);
    assert_eq!(
        values(&out),
        [v(
            "example:indicator-2",
            IndicatorKind::Domain,
            "evil.example"
        )]
    );
    assert_eq!(out[0].description.as_deref(), Some("Only a title"));
    assert_eq!(out[0].threat_type, None);
    assert_eq!(out[0].confidence, None);
    assert!(out[0].tags.is_empty());
    assert_eq!(
        out[0].fields.get("stix_timestamp").and_then(|v| v.as_str()),
        Some("2024-01-15T12:00:00+00:00")
    );
}

#[test]
fn idref_before_and_after_definition() {
    let obs = |id: &str, value: &str| {
        format!(
            r#"<cybox:Observable id="{id}"><cybox:Object>{}</cybox:Object></cybox:Observable>"#,
            address("ipv4-addr", "", value)
        )
    };
    let xml = package(&format!(
        "{}<stix:Observables cybox_major_version=\"2\">{}{}</stix:Observables>{}<stix:Observables>{}</stix:Observables>",
        header("Shared", "Package-level observables", "GREEN"),
        obs("example:Observable-before", "192.0.2.1"),
        obs("example:Observable-unreferenced", "192.0.2.99"),
        indicators(&[
            indicator(
                "example:indicator-a",
                r#"<indicator:Title>A</indicator:Title><indicator:Observable idref="example:Observable-before"/>"#
            ),
            indicator(
                "example:indicator-b",
                r#"<indicator:Title>B</indicator:Title><indicator:Observable idref="example:Observable-after"></indicator:Observable>"#
            ),
            // An object reference inside an inline observable, to an object
            // defined inline in another indicator.
            indicator(
                "example:indicator-c",
                r#"<indicator:Observable id="example:Observable-c"><cybox:Object idref="example:Object-d"/></indicator:Observable>"#
            ),
            indicator(
                "example:indicator-d",
                &format!(
                    r#"<indicator:Observable id="example:Observable-d"><cybox:Object id="example:Object-d">{}</cybox:Object></indicator:Observable>"#,
                    domain("", "d.example")
                )
            ),
            indicator(
                "example:indicator-missing",
                r#"<indicator:Observable idref="example:Observable-nowhere"/>"#
            ),
        ]),
        obs("example:Observable-after", "192.0.2.2"),
    ));
    let (out, report) = parse(&xml);
    let mut got = values(&out);
    got.sort();
    assert_eq!(
        got,
        [
            v(
                "example:Observable-unreferenced",
                IndicatorKind::Ipv4,
                "192.0.2.99"
            ),
            v("example:indicator-a", IndicatorKind::Ipv4, "192.0.2.1"),
            v("example:indicator-b", IndicatorKind::Ipv4, "192.0.2.2"),
            v("example:indicator-c", IndicatorKind::Domain, "d.example"),
            v("example:indicator-d", IndicatorKind::Domain, "d.example"),
        ]
    );
    let a = out
        .iter()
        .find(|i| i.id == "example:indicator-a")
        .expect("a");
    assert_eq!(a.description.as_deref(), Some("A"));
    assert_eq!(a.tags, ["tlp:green"]);
    let standalone = out
        .iter()
        .find(|i| i.id == "example:Observable-unreferenced")
        .expect("standalone");
    assert_eq!(
        standalone.description.as_deref(),
        Some("Package-level observables")
    );
    assert_eq!(report.invalid, counts(&[("unresolved idref", 1)]));
    assert_eq!(
        report.examples,
        ["example:indicator-missing: unresolved idref: example:Observable-nowhere"]
    );
}

#[test]
fn reference_cycles_end() {
    let xml = package(&format!(
        r#"<stix:Observables>
<cybox:Observable id="example:o1"><cybox:Observable_Composition operator="OR"><cybox:Observable idref="example:o2"/></cybox:Observable_Composition></cybox:Observable>
<cybox:Observable id="example:o2"><cybox:Observable_Composition operator="OR"><cybox:Observable idref="example:o1"/></cybox:Observable_Composition></cybox:Observable>
</stix:Observables>{}"#,
        indicators(&[indicator(
            "example:indicator-loop",
            r#"<indicator:Observable idref="example:o1"/>"#
        )])
    ));
    let (out, report) = parse(&xml);
    assert!(out.is_empty());
    assert_eq!(report.invalid, counts(&[("unresolved idref", 1)]));
}

#[test]
fn package_level_observables_without_references() {
    let xml = package(&format!(
        r#"{}<stix:Observables cybox_major_version="2" cybox_minor_version="1">
<cybox:Observable id="example:Observable-1"><cybox:Object>{}</cybox:Object></cybox:Observable>
<cybox:Observable id="example:Observable-2"><cybox:Title>Own title</cybox:Title><cybox:Object>{}</cybox:Object></cybox:Observable>
</stix:Observables>"#,
        header("Header title", "", "RED"),
        address("ipv6-addr", "", "2001:DB8::0:1"),
        domain("", "own.example"),
    ));
    assert!(!xml.contains("idref"));
    let (out, report) = parse(&xml);
    assert_eq!(
        values(&out),
        [
            v("example:Observable-1", IndicatorKind::Ipv6, "2001:db8::1"),
            v("example:Observable-2", IndicatorKind::Domain, "own.example"),
        ]
    );
    assert_eq!(out[0].description.as_deref(), Some("Header title"));
    assert_eq!(out[1].description.as_deref(), Some("Own title"));
    for i in &out {
        assert_eq!(i.tags, ["tlp:red"]);
        assert_eq!(i.threat_type, None);
        assert_eq!(
            i.fields.get("stix_timestamp").and_then(|v| v.as_str()),
            Some("2024-01-15T12:00:00+00:00")
        );
    }
    assert_eq!(report.indicators, 2);
}

#[test]
fn bare_cybox_observables_document() {
    let xml = format!(
        r#"<cybox:Observables {NS} cybox_major_version="2"><cybox:Observable id="example:o"><cybox:Object>{}</cybox:Object></cybox:Observable></cybox:Observables>"#,
        domain("", "bare.example")
    );
    let (out, _) = parse(&xml);
    assert_eq!(
        values(&out),
        [v("example:o", IndicatorKind::Domain, "bare.example")]
    );
}

#[test]
fn comma_lists_with_any_and_all() {
    let list =
        "198.51.100.1##comma##198.51.100.2 ##comma## 2001:db8::5##comma##198.51.100.1##comma##";
    let xml = package(&indicators(&[
        indicator(
            "example:indicator-any",
            &observable(&address(
                "ipv4-addr",
                r#"condition="Equals" apply_condition="ANY""#,
                list,
            )),
        ),
        indicator(
            "example:indicator-default",
            &observable(&domain(
                r#"condition="Equals""#,
                "a.example##comma##b.example",
            )),
        ),
        indicator(
            "example:indicator-all",
            &observable(&address(
                "ipv4-addr",
                r#"condition="Equals" apply_condition="ALL""#,
                "192.0.2.1##comma##192.0.2.2",
            )),
        ),
        indicator(
            "example:indicator-all-single",
            &observable(&address(
                "ipv4-addr",
                r#"condition="Equals" apply_condition="ALL""#,
                "192.0.2.3",
            )),
        ),
        indicator(
            "example:indicator-delimiter",
            &observable(&domain(
                r#"condition="Equals" delimiter="|""#,
                "c.example|d.example",
            )),
        ),
    ]));
    let (out, report) = parse(&xml);
    assert_eq!(
        values(&out),
        [
            v(
                "example:indicator-any#1",
                IndicatorKind::Ipv4,
                "198.51.100.1"
            ),
            v(
                "example:indicator-any#2",
                IndicatorKind::Ipv4,
                "198.51.100.2"
            ),
            v(
                "example:indicator-any#3",
                IndicatorKind::Ipv6,
                "2001:db8::5"
            ),
            v(
                "example:indicator-default#1",
                IndicatorKind::Domain,
                "a.example"
            ),
            v(
                "example:indicator-default#2",
                IndicatorKind::Domain,
                "b.example"
            ),
            v(
                "example:indicator-all-single",
                IndicatorKind::Ipv4,
                "192.0.2.3"
            ),
            v(
                "example:indicator-delimiter#1",
                IndicatorKind::Domain,
                "c.example"
            ),
            v(
                "example:indicator-delimiter#2",
                IndicatorKind::Domain,
                "d.example"
            ),
        ]
    );
    assert_eq!(
        report.unsupported,
        counts(&[("apply_condition=ALL on AddressObj", 1)])
    );
}

#[test]
fn inclusive_between_becomes_cidrs() {
    let range = |id: &str, value: &str| {
        indicator(
            id,
            &observable(&address(
                "ipv4-addr",
                r#"condition="InclusiveBetween" apply_condition="ANY""#,
                value,
            )),
        )
    };
    let xml = package(&indicators(&[
        range("example:indicator-24", "10.0.0.0##comma##10.0.0.255"),
        range("example:indicator-2blocks", "10.1.0.0 ##comma## 10.1.2.255"),
        range("example:indicator-v6", "2001:db8::##comma##2001:db8::ffff"),
        range("example:indicator-reversed", "10.0.0.9##comma##10.0.0.1"),
        range("example:indicator-wide", "0.0.0.1##comma##255.255.255.254"),
        indicator(
            "example:indicator-domain-range",
            &observable(&domain(r#"condition="InclusiveBetween""#, "a##comma##b")),
        ),
    ]));
    let (out, report) = parse(&xml);
    assert_eq!(
        values(&out),
        [
            v(
                "example:indicator-24",
                IndicatorKind::Ipv4Cidr,
                "10.0.0.0/24"
            ),
            v(
                "example:indicator-2blocks#1",
                IndicatorKind::Ipv4Cidr,
                "10.1.0.0/23"
            ),
            v(
                "example:indicator-2blocks#2",
                IndicatorKind::Ipv4Cidr,
                "10.1.2.0/24"
            ),
            v(
                "example:indicator-v6",
                IndicatorKind::Ipv6Cidr,
                "2001:db8::/112"
            ),
        ]
    );
    assert_eq!(
        report.unsupported,
        counts(&[
            (
                "condition=InclusiveBetween on AddressObj (more than 32 CIDR blocks)",
                1
            ),
            ("condition=InclusiveBetween on DomainNameObj", 1),
        ])
    );
    assert_eq!(
        report.invalid,
        counts(&[("bad InclusiveBetween range on AddressObj", 1)])
    );
}

#[test]
fn other_conditions_are_counted_not_stored() {
    let xml = package(&indicators(&[
        indicator(
            "example:indicator-contains",
            &observable(&domain(r#"condition="Contains""#, "evil")),
        ),
        indicator(
            "example:indicator-contains-2",
            &observable(&domain(r#"condition="Contains""#, "bad")),
        ),
        indicator(
            "example:indicator-regex",
            &observable(
                r#"<cybox:Properties xsi:type="URIObj:URIObjectType" type="URL"><URIObj:Value condition="FitsPattern" pattern_type="Regex">^http://.*\.evil/</URIObj:Value></cybox:Properties>"#,
            ),
        ),
        indicator(
            "example:indicator-startswith",
            &observable(&address("ipv4-addr", r#"condition="StartsWith""#, "10.")),
        ),
        indicator(
            "example:indicator-none",
            &observable(&address(
                "ipv4-addr",
                r#"condition="Equals" apply_condition="NONE""#,
                "10.0.0.1",
            )),
        ),
    ]));
    let (out, report) = parse(&xml);
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(
        report.unsupported,
        counts(&[
            ("apply_condition=NONE on AddressObj", 1),
            ("condition=Contains on DomainNameObj", 2),
            ("condition=FitsPattern on URIObj", 1),
            ("condition=StartsWith on AddressObj", 1),
        ])
    );
    assert!(report.invalid.is_empty());
    assert_eq!(
        report.examples[0],
        "example:indicator-contains: condition=Contains on DomainNameObj: evil"
    );
    assert_eq!(report.skipped(), 5);
}

#[test]
fn invalid_values_are_counted() {
    let xml = package(&indicators(&[
        indicator(
            "example:indicator-bad-ip",
            &observable(&address("ipv4-addr", "", "999.1.1.1")),
        ),
        indicator(
            "example:indicator-v6-as-v4",
            &observable(&address("ipv4-addr", "", "2001:db8::1")),
        ),
        indicator(
            "example:indicator-empty",
            &observable(&address("ipv4-addr", "", "")),
        ),
        indicator(
            "example:indicator-wildcard",
            &observable(&domain("", "*.evil.example")),
        ),
        indicator(
            "example:indicator-mixed",
            &observable(&address("ipv4-addr", "", "192.0.2.5##comma##300.0.0.1")),
        ),
    ]));
    let (out, report) = parse(&xml);
    // A value of the other family is typed by its content.
    assert_eq!(
        values(&out),
        [
            v(
                "example:indicator-v6-as-v4",
                IndicatorKind::Ipv6,
                "2001:db8::1"
            ),
            v("example:indicator-mixed", IndicatorKind::Ipv4, "192.0.2.5"),
        ]
    );
    assert_eq!(
        report.invalid,
        counts(&[
            ("bad domain-name value: wildcard names are not supported", 1),
            ("bad ipv4-addr value: empty value", 1),
            ("bad ipv4-addr value: not an IP address", 2),
        ])
    );
    assert_eq!(
        report.examples[0],
        "example:indicator-bad-ip: bad ipv4-addr value: not an IP address: 999.1.1.1"
    );
}

#[test]
fn email_from_and_sender() {
    let email = r#"<cybox:Properties xsi:type="EmailMessageObj:EmailMessageObjectType"><EmailMessageObj:Header>
<EmailMessageObj:To><EmailMessageObj:Recipient xsi:type="AddressObj:AddressObjectType" category="e-mail"><AddressObj:Address_Value>victim@corp.example</AddressObj:Address_Value></EmailMessageObj:Recipient></EmailMessageObj:To>
<EmailMessageObj:From xsi:type="AddressObj:AddressObjectType" category="e-mail"><AddressObj:Address_Value condition="Equals">Attacker@Evil.Example</AddressObj:Address_Value></EmailMessageObj:From>
<EmailMessageObj:Sender xsi:type="AddressObj:AddressObjectType" category="e-mail"><AddressObj:Address_Value condition="Equals">Relay &lt;relay@evil.example&gt;</AddressObj:Address_Value></EmailMessageObj:Sender>
<EmailMessageObj:Subject condition="Equals">Invoice</EmailMessageObj:Subject>
</EmailMessageObj:Header></cybox:Properties>"#;
    let subject_only = r#"<cybox:Properties xsi:type="EmailMessageObj:EmailMessageObjectType"><EmailMessageObj:Header><EmailMessageObj:Subject condition="Equals">Invoice</EmailMessageObj:Subject></EmailMessageObj:Header></cybox:Properties>"#;
    let xml = package(&indicators(&[
        indicator(
            "example:indicator-mail",
            &format!(
                r#"<indicator:Type>Malicious E-mail</indicator:Type>{}"#,
                observable(email)
            ),
        ),
        indicator(
            "example:indicator-addr",
            &observable(&address("e-mail", "", "phish@evil.example")),
        ),
        indicator(
            "example:indicator-from-contains",
            &observable(
                r#"<cybox:Properties xsi:type="EmailMessageObj:EmailMessageObjectType"><EmailMessageObj:Header><EmailMessageObj:From category="e-mail"><AddressObj:Address_Value condition="Contains">@evil.example</AddressObj:Address_Value></EmailMessageObj:From></EmailMessageObj:Header></cybox:Properties>"#,
            ),
        ),
        indicator("example:indicator-subject", &observable(subject_only)),
    ]));
    let (out, report) = parse(&xml);
    assert_eq!(
        values(&out),
        [
            v(
                "example:indicator-mail#1",
                IndicatorKind::Email,
                "attacker@evil.example"
            ),
            v(
                "example:indicator-mail#2",
                IndicatorKind::Email,
                "relay@evil.example"
            ),
            v(
                "example:indicator-addr",
                IndicatorKind::Email,
                "phish@evil.example"
            ),
        ]
    );
    assert_eq!(out[0].threat_type.as_deref(), Some("Malicious E-mail"));
    assert_eq!(
        report.unsupported,
        counts(&[
            ("condition=Contains on EmailMessageObj", 1),
            ("no supported property in EmailMessageObj", 1),
        ])
    );
}

fn hash(ty: &str, value: &str) -> String {
    let ty = if ty.is_empty() {
        String::new()
    } else {
        format!(
            r#"<cyboxCommon:Type xsi:type="cyboxVocabs:HashNameVocab-1.0">{ty}</cyboxCommon:Type>"#
        )
    };
    format!(
        r#"<cyboxCommon:Hash>{ty}<cyboxCommon:Simple_Hash_Value condition="Equals">{value}</cyboxCommon:Simple_Hash_Value></cyboxCommon:Hash>"#
    )
}

fn file(name: &str, hashes: &[String]) -> String {
    let name = if name.is_empty() {
        String::new()
    } else {
        format!("<FileObj:File_Name>{name}</FileObj:File_Name>")
    };
    let hashes = if hashes.is_empty() {
        String::new()
    } else {
        format!("<FileObj:Hashes>{}</FileObj:Hashes>", hashes.concat())
    };
    format!(
        r#"<cybox:Properties xsi:type="FileObj:FileObjectType">{name}{hashes}</cybox:Properties>"#
    )
}

#[test]
fn file_hashes_and_names() {
    let md5 = "D41D8CD98F00B204E9800998ECF8427E";
    let sha1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
    let sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let sha512 = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";
    let xml = package(&indicators(&[
        indicator(
            "example:indicator-all-hashes",
            &observable(&file(
                "invoice.exe",
                &[
                    hash("MD5", md5),
                    hash("SHA1", sha1),
                    hash("SHA-256", sha256),
                    hash("SHA512", sha512),
                    hash("SSDEEP", "3:a+JraNvsgzsVqSwHq9:tJuOgzsko"),
                ],
            )),
        ),
        indicator(
            "example:indicator-bad-md5",
            &observable(&file("", &[hash("MD5", &md5[..31])])),
        ),
        indicator(
            "example:indicator-untyped",
            &observable(&file("", &[hash("", sha1), hash("", "abc")])),
        ),
        indicator(
            "example:indicator-name",
            &observable(&file(" Invoice.PDF.exe ", &[])),
        ),
        indicator(
            "example:indicator-winfile",
            &observable(
                &file("", &[hash("SHA256", sha256)])
                    .replace("FileObj:FileObjectType", "WinFileObj:WindowsFileObjectType"),
            ),
        ),
    ]));
    let (out, report) = parse(&xml);
    assert_eq!(
        values(&out),
        [
            v(
                "example:indicator-all-hashes#1",
                IndicatorKind::Md5,
                &md5.to_lowercase()
            ),
            v("example:indicator-all-hashes#2", IndicatorKind::Sha1, sha1),
            v(
                "example:indicator-all-hashes#3",
                IndicatorKind::Sha256,
                sha256
            ),
            v(
                "example:indicator-all-hashes#4",
                IndicatorKind::Sha512,
                sha512
            ),
            v("example:indicator-untyped", IndicatorKind::Sha1, sha1),
            v(
                "example:indicator-name",
                IndicatorKind::FileName,
                "Invoice.PDF.exe"
            ),
            v("example:indicator-winfile", IndicatorKind::Sha256, sha256),
        ]
    );
    assert_eq!(
        report.unsupported,
        counts(&[("hash type SSDEEP on FileObj", 1)])
    );
    assert_eq!(
        report.invalid,
        counts(&[
            (
                "bad file:hashes.MD5 value: bad hash length: expected 32 hex digits, got 31",
                1
            ),
            ("hash without type, of unknown length", 1),
        ])
    );
}

#[test]
fn tlp_markings() {
    let ind = |id: &str, handling: &str| {
        indicator(
            id,
            &format!(
                "{handling}{}",
                observable(&address("ipv4-addr", "", "192.0.2.10"))
            ),
        )
    };
    let own = r#"<indicator:Handling><marking:Marking><marking:Marking_Structure xsi:type="tlpMarking:TLPMarkingStructureType" color="GREEN"/></marking:Marking></indicator:Handling>"#;
    let not_tlp = r#"<indicator:Handling><marking:Marking><marking:Marking_Structure xsi:type="simpleMarking:SimpleMarkingStructureType" color="WHITE" xmlns:simpleMarking="http://data-marking.mitre.org/extensions/MarkingStructure#Simple-1"/></marking:Marking></indicator:Handling>"#;
    let xml = package(&format!(
        "{}{}",
        header("t", "d", "amber"),
        indicators(&[
            ind("example:indicator-inherits", ""),
            ind("example:indicator-own", own),
            ind("example:indicator-not-tlp", not_tlp),
        ])
    ));
    let (out, _) = parse(&xml);
    let tags: Vec<_> = out
        .iter()
        .map(|i| (i.id.as_str(), i.tags.clone()))
        .collect();
    assert_eq!(
        tags,
        [
            ("example:indicator-inherits", vec!["tlp:amber".to_owned()]),
            ("example:indicator-own", vec!["tlp:green".to_owned()]),
            ("example:indicator-not-tlp", vec!["tlp:amber".to_owned()]),
        ]
    );
}

#[test]
fn confidence_words_and_numbers() {
    let cases = [
        ("High", Some(85)),
        ("Medium", Some(50)),
        ("Low", Some(15)),
        ("None", Some(0)),
        ("Unknown", None),
        ("70", Some(70)),
        ("sure", None),
    ];
    let list: Vec<String> = cases
        .iter()
        .enumerate()
        .map(|(n, (word, _))| {
            indicator(
                &format!("example:indicator-{n}"),
                &format!(
                    r#"<indicator:Confidence timestamp="2024-01-15T12:00:00+00:00"><stixCommon:Value xsi:type="stixVocabs:HighMediumLowVocab-1.0">{word}</stixCommon:Value></indicator:Confidence>{}"#,
                    observable(&address("ipv4-addr", "", &format!("192.0.2.{n}")))
                ),
            )
        })
        .collect();
    let (out, report) = parse(&package(&indicators(&list)));
    let got: Vec<_> = out.iter().map(|i| i.confidence).collect();
    let want: Vec<_> = cases.iter().map(|(_, c)| *c).collect();
    assert_eq!(got, want);
    assert_eq!(report.invalid, counts(&[("bad Confidence (ignored)", 1)]));
    assert_eq!(report.skipped(), 0);
}

#[test]
fn valid_time_with_and_without_zone() {
    let ind = |id: &str, start: &str, end: &str| {
        indicator(
            id,
            &format!(
                r#"<indicator:Valid_Time_Position><indicator:Start_Time precision="second">{start}</indicator:Start_Time><indicator:End_Time>{end}</indicator:End_Time></indicator:Valid_Time_Position>{}"#,
                observable(&address("ipv4-addr", "", "192.0.2.20"))
            ),
        )
    };
    let xml = package(&indicators(&[
        ind(
            "example:indicator-zoned",
            "2024-01-15T12:00:00+02:00",
            "2030-01-01T00:00:00Z",
        ),
        ind(
            "example:indicator-naive",
            "2024-01-15T12:00:00",
            "2030-01-01T00:00:00.250",
        ),
        ind("example:indicator-date", "2024-01-15", "garbage"),
        ind(
            "example:indicator-reversed",
            "2030-01-01T00:00:00Z",
            "2024-01-01T00:00:00Z",
        ),
    ]));
    let (out, report) = parse(&xml);
    let got: Vec<_> = out
        .iter()
        .map(|i| (i.id.as_str(), i.valid_from, i.valid_until))
        .collect();
    assert_eq!(
        got,
        [
            (
                "example:indicator-zoned",
                Some(datetime!(2024-01-15 10:00:00 UTC)),
                Some(datetime!(2030-01-01 00:00:00 UTC))
            ),
            (
                "example:indicator-naive",
                Some(datetime!(2024-01-15 12:00:00 UTC)),
                Some(datetime!(2030-01-01 00:00:00.25 UTC))
            ),
            (
                "example:indicator-date",
                Some(datetime!(2024-01-15 00:00:00 UTC)),
                None
            ),
        ]
    );
    assert_eq!(
        report.invalid,
        counts(&[
            ("`validUntil` is before `validFrom`", 1),
            ("unparseable End_Time (ignored)", 1),
        ])
    );
}

#[test]
fn doctype_is_refused() {
    let bomb = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<stix:STIX_Package xmlns:stix="http://stix.mitre.org/stix-1"><stix:STIX_Header><stix:Title>&lol3;</stix:Title></stix:STIX_Header></stix:STIX_Package>"#;
    let xxe = r#"<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><stix:STIX_Package xmlns:stix="http://stix.mitre.org/stix-1">&xxe;</stix:STIX_Package>"#;
    let plain = r#"<!DOCTYPE stix:STIX_Package><stix:STIX_Package xmlns:stix="http://stix.mitre.org/stix-1"/>"#;
    for xml in [bomb, xxe, plain] {
        let mut n = 0;
        let ctx = StixContext {
            source: "feed",
            collection: None,
        };
        let err = parse_package(xml.as_bytes(), &ctx, &mut |_| n += 1).expect_err("refused");
        assert_eq!(err, StixError::Doctype);
        assert_eq!(n, 0);
    }
}

fn parse_err(xml: &str) -> StixError {
    let ctx = StixContext {
        source: "feed",
        collection: None,
    };
    parse_package(xml.as_bytes(), &ctx, &mut |_| {}).expect_err("must fail")
}

#[test]
fn malformed_xml_is_an_error() {
    let cases = [
        // Mismatched end tag.
        package("<stix:STIX_Header></stix:Indicators>"),
        // Truncated.
        package("<stix:Indicators>").replace("</stix:STIX_Package>", ""),
        // Undefined entity (there is no DTD to define it).
        package("<stix:STIX_Header><stix:Title>&nbsp;</stix:Title></stix:STIX_Header>"),
        // Broken attribute.
        package(r#"<stix:Indicators><stix:Indicator id=oops/></stix:Indicators>"#),
        // Not UTF-8.
        package("<stix:STIX_Header><stix:Title>\u{0}</stix:Title></stix:STIX_Header>")
            .replace('\u{0}', "\u{fffd}"),
    ];
    for (n, xml) in cases.iter().enumerate() {
        let mut bytes = xml.clone().into_bytes();
        if n == 4 {
            // Replace the 3-byte U+FFFD with a lone continuation byte.
            let at = xml.find('\u{fffd}').expect("marker");
            bytes.splice(at..at + 3, [0x80]);
        }
        let ctx = StixContext {
            source: "feed",
            collection: None,
        };
        match parse_package(&bytes, &ctx, &mut |_| {}) {
            Err(StixError::Xml { position, message }) => {
                assert!(position > 0, "case {n}: {message}");
                assert!(!message.is_empty());
            }
            other => panic!("case {n}: expected an XML error, got {other:?}"),
        }
    }
    assert!(matches!(parse_err(""), StixError::NotStix { .. }));
    assert_eq!(
        parse_err(
            r#"<taxii_11:Poll_Response xmlns:taxii_11="http://taxii.mitre.org/messages/taxii_xml_binding-1.1"/>"#
        ),
        StixError::NotStix {
            root: "taxii_11:Poll_Response".to_owned()
        }
    );
}

#[test]
fn other_prefixes_parse_the_same() {
    let standard = package(&format!(
        "{}{}",
        header("T", "D", "WHITE"),
        indicators(&[
            indicator(
                "example:indicator-1",
                &format!(
                    r#"<indicator:Type>IP Watchlist</indicator:Type><indicator:Confidence><stixCommon:Value>Low</stixCommon:Value></indicator:Confidence>{}"#,
                    observable(&address("ipv4-addr", r#"condition="Equals""#, "192.0.2.50"))
                )
            ),
            indicator(
                "example:indicator-2",
                &observable(&file(
                    "",
                    &[hash("MD5", "d41d8cd98f00b204e9800998ecf8427e")]
                ))
            ),
        ])
    ));
    // Different prefixes, a default namespace, and declarations on inner elements.
    let renamed = r#"<s:STIX_Package xmlns:s="http://stix.mitre.org/stix-1" xmlns:i="http://stix.mitre.org/Indicator-2"
  xmlns:sc="http://stix.mitre.org/common-1" xmlns:m="http://data-marking.mitre.org/Marking-1"
  xmlns:t="http://data-marking.mitre.org/extensions/MarkingStructure#TLP-1" xmlns:x="http://www.w3.org/2001/XMLSchema-instance"
  id="example:Package-1" version="1.1.1" timestamp="2024-01-15T12:00:00+00:00">
 <s:STIX_Header><s:Title>T</s:Title><s:Description>D</s:Description>
  <s:Handling><m:Marking><m:Marking_Structure x:type="t:TLPMarkingStructureType" color="WHITE"/></m:Marking></s:Handling></s:STIX_Header>
 <s:Indicators>
  <s:Indicator id="example:indicator-1" timestamp="2024-02-01T00:00:00Z" x:type="i:IndicatorType">
   <i:Type>IP Watchlist</i:Type><i:Confidence><sc:Value>Low</sc:Value></i:Confidence>
   <i:Observable id="example:Observable-x" xmlns="http://cybox.mitre.org/cybox-2">
    <Object><Properties x:type="a:AddressObjectType" category="ipv4-addr" xmlns:a="http://cybox.mitre.org/objects#AddressObject-2">
     <a:Address_Value condition="Equals">192.0.2.50</a:Address_Value></Properties></Object>
   </i:Observable>
  </s:Indicator>
  <s:Indicator id="example:indicator-2" timestamp="2024-02-01T00:00:00Z">
   <i:Observable xmlns:c="http://cybox.mitre.org/cybox-2" xmlns:cc="http://cybox.mitre.org/common-2" xmlns:f="http://cybox.mitre.org/objects#FileObject-2">
    <c:Object><c:Properties x:type="f:FileObjectType"><f:Hashes><cc:Hash><cc:Type>MD5</cc:Type>
     <cc:Simple_Hash_Value>d41d8cd98f00b204e9800998ecf8427e</cc:Simple_Hash_Value></cc:Hash></f:Hashes></c:Properties></c:Object>
   </i:Observable>
  </s:Indicator>
 </s:Indicators>
</s:STIX_Package>"#;
    let (a, ra) = parse(&standard);
    let (b, rb) = parse(renamed);
    assert_eq!(a.len(), 2);
    assert_eq!(a, b);
    assert_eq!(ra, rb);
    // A known prefix bound to the wrong namespace is not the element it looks like.
    let wrong = standard.replace(
        r#"xmlns:AddressObj="http://cybox.mitre.org/objects#AddressObject-2""#,
        r#"xmlns:AddressObj="http://example.com/not-cybox""#,
    );
    let (c, _) = parse(&wrong);
    assert_eq!(values(&c).len(), 1);
}

#[test]
fn domains_urls_hostnames_links() {
    let uri = |ty: &str, value: &str| {
        format!(
            r#"<cybox:Properties xsi:type="URIObj:URIObjectType" type="{ty}"><URIObj:Value condition="Equals">{value}</URIObj:Value></cybox:Properties>"#
        )
    };
    let xml = package(&indicators(&[
        indicator(
            "example:indicator-url",
            &observable(&uri("URL", "HTTP://Evil.Example:80/a?b=1&amp;c=2#frag")),
        ),
        indicator(
            "example:indicator-uri-domain",
            &observable(&uri("Domain Name", "Bad.Example")),
        ),
        indicator(
            "example:indicator-urn",
            &observable(&uri("General URN", "urn:x")),
        ),
        indicator(
            "example:indicator-cdata",
            &observable(&uri("URL", "<![CDATA[http://evil.example/x?a=1&b=<2>]]>")),
        ),
        indicator(
            "example:indicator-link",
            &observable(
                r#"<cybox:Properties xsi:type="LinkObj:LinkObjectType" type="URL"><URIObj:Value>http://link.example/</URIObj:Value><LinkObj:URL_Label>click</LinkObj:URL_Label></cybox:Properties>"#,
            ),
        ),
        indicator(
            "example:indicator-hostname",
            &observable(
                r#"<cybox:Properties xsi:type="HostnameObj:HostnameObjectType"><HostnameObj:Hostname_Value>Host.Example</HostnameObj:Hostname_Value></cybox:Properties>"#,
            ),
        ),
        indicator(
            "example:indicator-tld",
            &observable(
                r#"<cybox:Properties xsi:type="DomainNameObj:DomainNameObjectType" type="TLD"><DomainNameObj:Value>example</DomainNameObj:Value></cybox:Properties>"#,
            ),
        ),
        indicator(
            "example:indicator-netconn",
            &observable(
                r#"<cybox:Properties xsi:type="NetworkConnectionObj:NetworkConnectionObjectType"><NetworkConnectionObj:Destination_Socket_Address><SocketAddressObj:IP_Address xmlns:SocketAddressObj="http://cybox.mitre.org/objects#SocketAddressObject-1"><AddressObj:Address_Value>192.0.2.1</AddressObj:Address_Value></SocketAddressObj:IP_Address></NetworkConnectionObj:Destination_Socket_Address></cybox:Properties>"#,
            ),
        ),
        indicator(
            "example:indicator-mac",
            &observable(&address("mac", "", "00:11:22:33:44:55")),
        ),
        indicator(
            "example:indicator-mask",
            &observable(&address("ipv4-net-mask", "", "10.1.0.0/255.255.0.0")),
        ),
    ]));
    let (out, report) = parse(&xml);
    assert_eq!(
        values(&out),
        [
            v(
                "example:indicator-url",
                IndicatorKind::Url,
                "http://evil.example/a?b=1&c=2"
            ),
            v(
                "example:indicator-uri-domain",
                IndicatorKind::Domain,
                "bad.example"
            ),
            v(
                "example:indicator-cdata",
                IndicatorKind::Url,
                "http://evil.example/x?a=1&b=<2>"
            ),
            v(
                "example:indicator-link",
                IndicatorKind::Url,
                "http://link.example/"
            ),
            v(
                "example:indicator-hostname",
                IndicatorKind::Domain,
                "host.example"
            ),
            v(
                "example:indicator-mask",
                IndicatorKind::Ipv4Cidr,
                "10.1.0.0/16"
            ),
        ]
    );
    assert_eq!(
        report.unsupported,
        counts(&[
            ("category=mac on AddressObj", 1),
            ("object NetworkConnectionObj", 1),
            ("type=General URN on URIObj", 1),
            ("type=TLD on DomainNameObj", 1),
        ])
    );
}

#[test]
fn compositions_and_negation() {
    let obs = |inner: &str| {
        format!(r#"<cybox:Observable><cybox:Object>{inner}</cybox:Object></cybox:Observable>"#)
    };
    let xml = package(&indicators(&[
        indicator(
            "example:indicator-or",
            &format!(
                r#"<indicator:Observable id="example:o-or"><cybox:Observable_Composition operator="OR">{}{}<cybox:Observable idref="example:o-shared"/></cybox:Observable_Composition></indicator:Observable>"#,
                obs(&domain("", "one.example")),
                obs(&address("ipv4-addr", "", "192.0.2.30")),
            ),
        ),
        indicator(
            "example:indicator-and",
            &format!(
                r#"<indicator:Observable><cybox:Observable_Composition operator="AND">{}{}</cybox:Observable_Composition></indicator:Observable>"#,
                obs(&domain("", "two.example")),
                obs(&address("ipv4-addr", "", "192.0.2.31")),
            ),
        ),
        indicator(
            "example:indicator-negated",
            &format!(
                r#"<indicator:Observable negate="true"><cybox:Object>{}</cybox:Object></indicator:Observable>"#,
                domain("", "not.example")
            ),
        ),
        indicator(
            "example:indicator-event",
            r#"<indicator:Observable><cybox:Event><cybox:Type>Anomaly Events</cybox:Type></cybox:Event></indicator:Observable>"#,
        ),
        indicator(
            "example:indicator-empty",
            "<indicator:Title>nothing</indicator:Title>",
        ),
        indicator(
            "example:indicator-snort",
            r#"<indicator:Test_Mechanisms><indicator:Test_Mechanism/></indicator:Test_Mechanisms>"#,
        ),
    ]));
    let xml = xml.replace(
        "</stix:STIX_Package>",
        &format!(
            r#"<stix:Observables><cybox:Observable id="example:o-shared"><cybox:Object>{}</cybox:Object></cybox:Observable></stix:Observables></stix:STIX_Package>"#,
            domain("", "shared.example")
        ),
    );
    let (out, report) = parse(&xml);
    assert_eq!(
        values(&out),
        [
            v(
                "example:indicator-or#1",
                IndicatorKind::Domain,
                "one.example"
            ),
            v("example:indicator-or#2", IndicatorKind::Ipv4, "192.0.2.30"),
            v(
                "example:indicator-or#3",
                IndicatorKind::Domain,
                "shared.example"
            ),
        ]
    );
    assert_eq!(
        report.unsupported,
        counts(&[
            ("Indicator without Observable", 1),
            ("Observable_Composition operator=AND", 1),
            ("Test_Mechanisms without Observable", 1),
            ("cybox:Event in Observable", 1),
            ("negated Observable", 1),
        ])
    );
}

#[test]
fn composite_and_related_indicators() {
    let sub = |id: &str, value: &str| {
        format!(
            r#"<indicator:Indicator id="{id}"><indicator:Title>sub</indicator:Title>{}</indicator:Indicator>"#,
            observable(&domain("", value))
        )
    };
    let xml = package(&indicators(&[
        indicator(
            "example:indicator-parent",
            &format!(
                r#"<indicator:Title>parent</indicator:Title><indicator:Composite_Indicator_Expression operator="OR">{}{}</indicator:Composite_Indicator_Expression>
<indicator:Related_Indicators><indicator:Related_Indicator><stixCommon:Indicator idref="example:indicator-elsewhere"/></indicator:Related_Indicator>
<indicator:Related_Indicator><stixCommon:Indicator id="example:indicator-related">{}</stixCommon:Indicator></indicator:Related_Indicator></indicator:Related_Indicators>"#,
                sub("example:indicator-sub1", "sub1.example"),
                sub("example:indicator-sub2", "sub2.example"),
                observable(&domain("", "related.example")),
            ),
        ),
        indicator(
            "example:indicator-and",
            &format!(
                r#"<indicator:Composite_Indicator_Expression operator="AND">{}</indicator:Composite_Indicator_Expression>"#,
                sub("example:indicator-sub3", "sub3.example")
            ),
        ),
    ]));
    let (out, report) = parse(&xml);
    assert_eq!(
        values(&out),
        [
            v(
                "example:indicator-sub1",
                IndicatorKind::Domain,
                "sub1.example"
            ),
            v(
                "example:indicator-sub2",
                IndicatorKind::Domain,
                "sub2.example"
            ),
            v(
                "example:indicator-related",
                IndicatorKind::Domain,
                "related.example"
            ),
        ]
    );
    assert_eq!(
        report.unsupported,
        counts(&[("Composite_Indicator_Expression operator=AND", 1)])
    );
}

#[test]
fn report_problems_without_a_source() {
    let xml = package(&indicators(&[indicator(
        "example:indicator-1",
        &observable(&address("ipv4-addr", "", "192.0.2.1")),
    )]));
    let (out, report) = parse_with(&xml, " ");
    assert!(out.is_empty());
    assert_eq!(report.invalid, counts(&[("empty `source`", 1)]));
}

#[test]
fn examples_are_capped() {
    let list: Vec<String> = (0..30)
        .map(|n| {
            indicator(
                &format!("example:indicator-{n}"),
                &observable(&domain(r#"condition="Contains""#, &"x".repeat(300))),
            )
        })
        .collect();
    let (_, report) = parse(&package(&indicators(&list)));
    assert_eq!(report.examples.len(), MAX_EXAMPLES);
    assert_eq!(
        report.unsupported,
        counts(&[("condition=Contains on DomainNameObj", 30)])
    );
    assert!(report.examples[0].ends_with('…'));
    assert!(report.examples[0].len() < 200);
}

#[test]
fn references_in_text_keep_their_spaces() {
    let xml = package(&indicators(&[indicator(
        "example:indicator-1",
        &format!(
            "<indicator:Description>Smith &amp; Wesson &#x26; co &lt;3</indicator:Description>{}",
            observable(&domain("", " evil.example "))
        ),
    )]));
    let (out, _) = parse(&xml);
    assert_eq!(
        out[0].description.as_deref(),
        Some("Smith & Wesson & co <3")
    );
    assert_eq!(out[0].value, "evil.example");
}

#[test]
fn errors_after_emitting_report_the_error() {
    // Indicators already complete are emitted before the problem is found.
    let xml = package(&indicators(&[
        indicator(
            "example:indicator-1",
            &observable(&domain("", "first.example")),
        ),
        "<stix:Indicator id=\"example:indicator-2\"><broken></stix:Indicator>".to_owned(),
    ]));
    let mut seen = Vec::new();
    let ctx = StixContext {
        source: "feed",
        collection: None,
    };
    let err = parse_package(xml.as_bytes(), &ctx, &mut |i| seen.push(i.value)).expect_err("bad");
    assert!(matches!(err, StixError::Xml { .. }), "{err}");
    assert_eq!(seen, ["first.example"]);
}

#[test]
fn truncated_and_corrupted_input_never_panics() {
    let xml = package(&format!(
        "{}{}<stix:Observables><cybox:Observable id=\"example:o\"><cybox:Object>{}</cybox:Object></cybox:Observable></stix:Observables>",
        header("T &amp; D", "D", "RED"),
        indicators(&[
            indicator(
                "example:indicator-1",
                &format!(
                    "<indicator:Valid_Time_Position><indicator:Start_Time>2024-01-15</indicator:Start_Time></indicator:Valid_Time_Position>{}",
                    observable(&address(
                        "ipv4-addr",
                        r#"condition="InclusiveBetween""#,
                        "10.0.0.0##comma##10.0.0.255"
                    ))
                ),
            ),
            indicator(
                "example:indicator-2",
                r#"<indicator:Observable idref="example:o"/>"#
            ),
            indicator(
                "example:indicator-3",
                &observable(&file(
                    "a.exe",
                    &[hash("MD5", "d41d8cd98f00b204e9800998ecf8427e")]
                )),
            ),
        ]),
        domain("", "o.example"),
    ));
    let ctx = StixContext {
        source: "feed",
        collection: None,
    };
    let bytes = xml.as_bytes();
    for cut in 0..bytes.len() {
        let _ = parse_package(&bytes[..cut], &ctx, &mut |i| {
            i.check().expect("consistent");
        });
    }
    for (n, at) in (0..bytes.len()).step_by(3).enumerate() {
        let mut corrupted = bytes.to_vec();
        corrupted[at] = [b'<', b'>', b'&', b'"', b'/', 0xff, b':', b' '][n % 8];
        let _ = parse_package(&corrupted, &ctx, &mut |i| {
            i.check().expect("consistent");
        });
    }
    let (out, report) = parse(&xml);
    assert_eq!(out.len(), 3, "{report:?}");
}
