"""A Connector's life through the client openapi-python-client generated from the served
document (run by test_generated_client.py in the generator's venv, with the generated
package on the path; nothing of onramp is importable there).

    python generated_drive.py URL KEY

Each step prints one JSON line; after the create it waits for a line on stdin (the test
plays the workers meanwhile), after the delete for another.
"""

from __future__ import annotations

import json
import sys

from onramp_api import AuthenticatedClient
from onramp_api.api.connectors import (
    create_connector,
    delete_connector,
    get_connector,
    list_connectors,
)
from onramp_api.models import Connector, ConnectorOrder, ConnectorPage, ConnectorShown
from onramp_api.types import UNSET


def say(**what: object) -> None:
    print(json.dumps(what), flush=True)


def main(url: str, key: str) -> None:
    api = AuthenticatedClient(base_url=url, token=key, raise_on_unexpected_status=True)
    order = ConnectorOrder.from_dict({
        "onramp": "aws-dx-par", "kind": "aws-hosted-vif", "bandwidth_mbps": 100,
        "aws_account": "123456789012", "prefixes": ["10.100.0.0/24"],
        "description": "generated client"})  # fmt: skip
    made = create_connector.sync(client=api, body=order, idempotency_key="generated-1")
    assert isinstance(made, Connector), made
    say(step="created", id=str(made.id), state=made.state.value)
    sys.stdin.readline()  # the workers' part

    shown = get_connector.sync(client=api, ident=str(made.id))
    assert isinstance(shown, ConnectorShown), shown
    say(step="got", state=shown.state.value, history=[h.to.value for h in shown.history])
    listed: list[str] = []
    after = UNSET
    while True:  # every page, by the cursor the API answers
        page = list_connectors.sync(client=api, limit=1, after=after)
        assert isinstance(page, ConnectorPage), page
        listed += [str(c.id) for c in page.items]
        if not page.next_:
            break
        after = page.next_
    say(step="listed", ids=listed)
    gone = delete_connector.sync(client=api, ident=str(made.id))
    assert isinstance(gone, Connector), gone
    say(step="deleted", state=gone.state.value)
    sys.stdin.readline()

    final = get_connector.sync_detailed(client=api, ident=str(made.id))
    missing = get_connector.sync_detailed(client=api, ident="00000000")
    say(
        step="final",
        status=int(final.status_code),
        state=final.parsed.state.value,  # type: ignore[union-attr]
        missing=int(missing.status_code),
        code=missing.parsed.error.code,
    )  # type: ignore[union-attr]


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
