"""Test-suite support code: helpers, fakes and pytest plugins (`tests.support.servers`: real Postgres and S3)."""
