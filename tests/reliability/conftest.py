"""One local cloud for the lifecycle battery and the memory budget (tests/reliability): each leaves
the shop at rest (the battery drives every order to rest, the memory test waits until every order
settled), so the next starts on a quiet cloud, and the suite pays for one start instead of two.
The checkout load test leaves fifty order workflows running and the restart test stops and starts
clouds of its own: both start their own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shopstack.harness import LocalCloud, start


@pytest.fixture(scope="package")
def shared_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    running = start(state_dir=tmp_path_factory.mktemp("reliability-state"), ses="production")
    # Every buyer, staff member and poller is one client address here: the web ACL's per-client
    # limits (checkout 100 per 5 min) would throttle the many customers the battery plays.
    running.set_rate_limits(perIp=1_000_000, checkoutPerIp=1_000_000)
    yield running
    running.stop(timeout=120)
