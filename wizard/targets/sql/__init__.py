"""The database target: one row of ``system_settings`` in SQLite, PostgreSQL or MySQL/MariaDB.

The layout is the one the Node backend already reads (``key = 'amocrm_tokens'``, columns
``amocrm_access_token``, ``amocrm_refresh_token``, ``updated_at``). When the table is
missing the wizard creates it with columns for the rest of the contract's keys too:

==============================  =========================  ==================================
contract key                    column                     type when the wizard creates it
==============================  =========================  ==================================
(row identity)                  ``key``                    VARCHAR(255) primary key
AMOCRM_BASE_URL                 ``amocrm_base_url``        TEXT
AMOCRM_SUBDOMAIN                ``amocrm_subdomain``       TEXT
AMOCRM_CLIENT_ID                ``amocrm_client_id``       TEXT
AMOCRM_CLIENT_SECRET            ``amocrm_client_secret``   TEXT
AMOCRM_REDIRECT_URI             ``amocrm_redirect_uri``    TEXT
AMOCRM_ACCESS_TOKEN             ``amocrm_access_token``    TEXT
AMOCRM_REFRESH_TOKEN            ``amocrm_refresh_token``   TEXT
AMOCRM_TOKEN_EXPIRES_AT         ``amocrm_expires_at``      timestamp, UTC
(last write)                    ``updated_at``             timestamp, UTC
==============================  =========================  ==================================

"timestamp, UTC" is ``TIMESTAMP WITH TIME ZONE`` on PostgreSQL and ``DATETIME`` holding UTC
on MySQL and SQLite, so SQL on the backend side can compare it with ``now()``. A table that
already exists is used as it is: each value goes to whichever column type is there
(timestamps, epoch integers or ISO text), columns it lacks are reported rather than added,
and other rows and columns are never touched. Only ``key`` and the two token columns are
required; without them the backend could not read anything the wizard writes.

The package, one module per concept:

- ``url``: the ``--db`` value and its driver;
- ``layout``: the table the wizard creates or finds, and its row to and from the contract's values;
- ``dialect``: each database's engine settings, lock statements and error words;
- ``held``: the held-row transaction (the lock, the save, the read-back);
- ``target``: ``SqlTarget``, which puts them together.
"""

from wizard.targets.sql.layout import COLUMNS, ROW_KEY, TABLE
from wizard.targets.sql.target import SqlTarget
from wizard.targets.sql.url import DbUrl, parse_db_url

__all__ = ["COLUMNS", "ROW_KEY", "TABLE", "DbUrl", "SqlTarget", "parse_db_url"]
