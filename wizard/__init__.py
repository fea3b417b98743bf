"""amocrm-wizard: connect an amoCRM or Kommo account to a backend over OAuth 2.0."""

__version__ = "0.1.0"
