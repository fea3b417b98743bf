"""The Qt-free protocol core: accounts, OAuth, tokens, errors and redaction."""
