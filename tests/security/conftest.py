"""Security checks over HTTP against the session's local cloud (tests/conftest.py), with the same
report of the local cloud's errors on failure as the integration suite."""

from tests.integration.conftest import _cloud_log_on_failure, pytest_runtest_makereport

__all__ = ["_cloud_log_on_failure", "pytest_runtest_makereport"]
