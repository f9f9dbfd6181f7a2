"""The test suite (helpers shared by the tests live in tests/support/)."""

import pytest

# The shared helpers assert too; rewrite them like test modules so their failures explain themselves.
pytest.register_assert_rewrite("tests.support")
