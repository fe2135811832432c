#!/usr/bin/env python3
"""The seed's story as a customer writes it: an AWS Connector in Paris, an Azure
ExpressRoute Connector in London, a Link between them, each waited on until active.

    onramp api serve &                       # or any onramp API
    onramp apikey create --tenant acme       # the key, shown once
    python examples/aws_azure_link.py --url http://127.0.0.1:8080 --key onr_... \\
        --aws-account 123456789012 --azure-service-key <circuit's service key> \\
        --s-tag <circuit's S-tag> --aws-prefix 10.100.0.0/24 --azure-prefix 10.100.1.0/24

Safe to run again: each order carries an idempotency key, so a second run finds what
the first made instead of ordering twice. Prints what it made as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys

from onramp.client import ApiError, Client


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--aws-account", required=True)
    p.add_argument("--azure-service-key", required=True)
    p.add_argument("--s-tag", type=int)
    p.add_argument("--aws-prefix", action="append", default=[])
    p.add_argument("--azure-prefix", action="append", default=[])
    p.add_argument("--timeout", type=float, default=600, help="seconds to wait for each")
    p.add_argument("--tag", default="example", help="idempotency keys start with this")
    a = p.parse_args(argv)

    api = Client(a.url, a.key)
    try:
        aws = api.order_connector(
            idempotency_key=f"{a.tag}-aws", onramp="aws-dx-par", kind="aws-hosted-vif",
            bandwidth_mbps=500, aws_account=a.aws_account, prefixes=a.aws_prefix)  # fmt: skip
        azure = api.order_connector(
            idempotency_key=f"{a.tag}-azure", onramp="azure-er-lon", kind="azure-expressroute",
            bandwidth_mbps=1000, azure_service_key=a.azure_service_key, s_tag=a.s_tag,
            prefixes=a.azure_prefix)  # fmt: skip
        for c in (aws, azure):
            print(f"waiting for Connector {c['id']} ({c['onramp']})", file=sys.stderr)
            api.wait("connector", c["id"], timeout=a.timeout)
        link = api.link(aws["id"], azure["id"], bandwidth_mbps=500,
                        idempotency_key=f"{a.tag}-link")  # fmt: skip
        print(f"waiting for Link {link['id']}", file=sys.stderr)
        link = api.wait("link", link["id"], timeout=a.timeout)
    except ApiError as exc:
        print(f"{exc.code}: {exc.reason}\n  -> {exc.hint}", file=sys.stderr)
        return 1
    print(json.dumps({"aws": aws["id"], "azure": azure["id"], "link": link["id"],
                      "route_target": link["route_target"]}, indent=2))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
