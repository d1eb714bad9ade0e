"""Pushes STIX 1.2 packages to an OpenTAXII inbox (written and run by the test harness).

Usage: push.py spec.json. The spec: {"host", "port", "https", "username", "password",
"cert", "key", "ca", "packages": [{"collection", "indicators": [[type, value], ...],
"open_ended"}]}. Every package goes out as one Inbox_Message with one content block. Validity
windows come from the current time (one hour ago to thirty days ahead); an `open_ended` package
has none.
"""
import datetime
import json
import sys

from cabby import create_client
from cybox.common import Hash
from cybox.objects.address_object import Address
from cybox.objects.domain_name_object import DomainName
from cybox.objects.file_object import File
from stix.core import STIXHeader, STIXPackage
from stix.indicator import Indicator
from stix.indicator.valid_time import ValidTime

BINDING = "urn:stix.mitre.org:xml:1.2"


def observable(kind, value):
    if kind == "ipv4-addr":
        return Address(address_value=value, category=Address.CAT_IPV4)
    if kind == "domain-name":
        d = DomainName()
        d.value = value
        d.type_ = "FQDN"
        return d
    if kind.startswith("file:hashes"):
        f = File()
        f.add_hash(Hash(value))
        return f
    raise ValueError(kind)


def package(indicators, open_ended):
    now = datetime.datetime.now(datetime.timezone.utc)
    pkg = STIXPackage()
    pkg.stix_header = STIXHeader(title="taxiway test package")
    for i, (kind, value) in enumerate(indicators):
        ind = Indicator(title="test indicator %d" % i, description="pushed by the test harness")
        ind.add_observable(observable(kind, value))
        if not open_ended:
            ind.add_valid_time_position(
                ValidTime(start_time=now - datetime.timedelta(hours=1),
                          end_time=now + datetime.timedelta(days=30)))
        pkg.add_indicator(ind)
    return pkg.to_xml()


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    client = create_client(spec["host"], port=spec["port"], use_https=spec["https"],
                           discovery_path="/services/discovery")
    client.set_auth(username=spec["username"], password=spec["password"],
                    cert_file=spec.get("cert"), key_file=spec.get("key"),
                    ca_cert=spec.get("ca"))
    for p in spec["packages"]:
        client.push(package(p["indicators"], p.get("open_ended", False)), BINDING, collection_names=[p["collection"]],
                    uri="/services/inbox")


if __name__ == "__main__":
    main()
