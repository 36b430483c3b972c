"""Report writers: text for people, JSON (the contract), SARIF for code scanning."""
