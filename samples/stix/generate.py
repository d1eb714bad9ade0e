#!/usr/bin/env python3
"""Writes the STIX 1.2 packages `taxiway demo` serves, one per collection,
from samples/indicators.ndjson (same values, so the demo tags the same
sample records). Deterministic; run from anywhere: python3 samples/stix/generate.py"""
import json
import pathlib
import uuid
from xml.sax.saxutils import escape

HERE = pathlib.Path(__file__).resolve().parent
NS = {
    "stix": "http://stix.mitre.org/stix-1",
    "indicator": "http://stix.mitre.org/Indicator-2",
    "stixCommon": "http://stix.mitre.org/common-1",
    "stixVocabs": "http://stix.mitre.org/default_vocabularies-1",
    "cybox": "http://cybox.mitre.org/cybox-2",
    "cyboxCommon": "http://cybox.mitre.org/common-2",
    "AddressObj": "http://cybox.mitre.org/objects#AddressObject-2",
    "DomainNameObj": "http://cybox.mitre.org/objects#DomainNameObject-1",
    "URIObj": "http://cybox.mitre.org/objects#URIObject-2",
    "FileObj": "http://cybox.mitre.org/objects#FileObject-2",
    "EmailMessageObj": "http://cybox.mitre.org/objects#EmailMessageObject-2",
    "marking": "http://data-marking.mitre.org/Marking-1",
    "tlpMarking": "http://data-marking.mitre.org/extensions/MarkingStructure#TLP-1",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "taxiway": "https://github.com/taxiway/samples",
}
COLLECTIONS = {
    "ips": ("ipv4-addr", "ipv6-addr"),
    "domains": ("domain-name", "url"),
    "files": ("file:hashes.MD5", "file:hashes.SHA-1", "file:hashes.SHA-256", "file:hashes.SHA-512", "file:name"),
    "emails": ("email-addr",),
}
HASH = {"file:hashes.MD5": "MD5", "file:hashes.SHA-1": "SHA1", "file:hashes.SHA-256": "SHA256", "file:hashes.SHA-512": "SHA512"}


def props(ind):
    t, v = ind["type"], escape(ind["indicator"])
    if t in ("ipv4-addr", "ipv6-addr"):
        cat = "cidr" if "/" in v else t
        return f'<cybox:Properties xsi:type="AddressObj:AddressObjectType" category="{cat}"><AddressObj:Address_Value condition="Equals">{v}</AddressObj:Address_Value></cybox:Properties>'
    if t == "domain-name":
        return f'<cybox:Properties xsi:type="DomainNameObj:DomainNameObjectType" type="FQDN"><DomainNameObj:Value condition="Equals">{v}</DomainNameObj:Value></cybox:Properties>'
    if t == "url":
        return f'<cybox:Properties xsi:type="URIObj:URIObjectType" type="URL"><URIObj:Value condition="Equals">{v}</URIObj:Value></cybox:Properties>'
    if t in HASH:
        return (f'<cybox:Properties xsi:type="FileObj:FileObjectType"><FileObj:Hashes><cyboxCommon:Hash>'
                f'<cyboxCommon:Type condition="Equals">{HASH[t]}</cyboxCommon:Type>'
                f'<cyboxCommon:Simple_Hash_Value condition="Equals">{v}</cyboxCommon:Simple_Hash_Value>'
                f'</cyboxCommon:Hash></FileObj:Hashes></cybox:Properties>')
    if t == "file:name":
        return f'<cybox:Properties xsi:type="FileObj:FileObjectType"><FileObj:File_Name condition="Equals">{v}</FileObj:File_Name></cybox:Properties>'
    if t == "email-addr":
        return (f'<cybox:Properties xsi:type="EmailMessageObj:EmailMessageObjectType"><EmailMessageObj:Header>'
                f'<EmailMessageObj:From category="e-mail"><AddressObj:Address_Value condition="Equals">{v}</AddressObj:Address_Value></EmailMessageObj:From>'
                f'</EmailMessageObj:Header></cybox:Properties>')
    raise ValueError(t)


def indicator(ind):
    ident = "taxiway:indicator-" + str(uuid.uuid5(uuid.NAMESPACE_URL, ind["id"] + ind["source"]))
    fields = ind.get("fields", {})
    out = [f'<stix:Indicator id="{ident}" timestamp="{ind.get("validFrom", "2024-01-01T00:00:00Z")}" xsi:type="indicator:IndicatorType">']
    out.append(f'<indicator:Title>{escape(fields.get("description", ind["type"]))}</indicator:Title>')
    out.append(f'<indicator:Type xsi:type="stixVocabs:IndicatorTypeVocab-1.1">{escape(ind.get("threatType", "Malware Artifacts"))}</indicator:Type>')
    if "description" in fields:
        out.append(f'<indicator:Description>{escape(fields["description"])} (source: {escape(ind["source"])})</indicator:Description>')
    out.append("<indicator:Valid_Time_Position>")
    if "validFrom" in ind:
        out.append(f'<indicator:Start_Time precision="second">{ind["validFrom"]}</indicator:Start_Time>')
    if "validUntil" in ind:
        out.append(f'<indicator:End_Time precision="second">{ind["validUntil"]}</indicator:End_Time>')
    out.append("</indicator:Valid_Time_Position>")
    out.append(f'<indicator:Observable id="{ident}-observable"><cybox:Object>{props(ind)}</cybox:Object></indicator:Observable>')
    if "confidence" in ind:
        level = "High" if ind["confidence"] >= 70 else "Medium" if ind["confidence"] >= 30 else "Low"
        out.append(f"<indicator:Confidence><stixCommon:Value>{level}</stixCommon:Value></indicator:Confidence>")
    out.append("</stix:Indicator>")
    return "".join(out)


def main():
    lines = (HERE.parent / "indicators.ndjson").read_text().splitlines()
    indicators = [json.loads(l) for l in lines if l.strip()]
    xmlns = " ".join(f'xmlns:{k}="{v}"' for k, v in NS.items())
    for name, types in COLLECTIONS.items():
        chosen = [i for i in indicators if i["type"] in types]
        body = "\n".join(indicator(i) for i in chosen)
        doc = (f'<stix:STIX_Package {xmlns} id="taxiway:Package-{name}" version="1.2" timestamp="2024-01-01T00:00:00Z">\n'
               f'<stix:STIX_Header><stix:Title>taxiway demo: {name}</stix:Title>'
               f'<stix:Handling><marking:Marking><marking:Controlled_Structure>//node()</marking:Controlled_Structure>'
               f'<marking:Marking_Structure xsi:type="tlpMarking:TLPMarkingStructureType" color="GREEN"/></marking:Marking></stix:Handling>'
               f'</stix:STIX_Header>\n<stix:Indicators>\n{body}\n</stix:Indicators>\n</stix:STIX_Package>\n')
        (HERE / f"{name}.xml").write_text(doc)
        print(f"{name}.xml: {len(chosen)} indicators")


main()
