"""Settings the test app is built with that tests also need to read."""

TEST_PII_KEY = "dGVzdC1waWkta2V5LTMyLWJ5dGVzLWxvbmctZW5vdWdoIQ=="
