"""A 30-line backend: when a student finishes a lesson, their deal moves to the next stage.

    pip install amocrm-wizard flask
    AMOCRM_ENV=/srv/backend/.env LESSON_DONE_STATUS_ID=142 flask --app examples/lesson_done_backend run

The tokens were put in the .env (or a database: set AMOCRM_DB) by the wizard; the client
renews them on its own, saves every rotated pair, and never double-refreshes when several
workers share the file.
"""

import os

from flask import Flask, jsonify

from wizard.runtime import AmoCRMClient, ReauthorizationRequired
from wizard.targets import open_target

app = Flask(__name__)
amocrm = AmoCRMClient(open_target(env=os.environ.get("AMOCRM_ENV"), db=os.environ.get("AMOCRM_DB")))
DONE_STATUS = int(os.environ.get("LESSON_DONE_STATUS_ID", "142"))


@app.post("/lessons/<int:deal_id>/done")
def lesson_done(deal_id: int):  # type: ignore[no-untyped-def]
    try:
        answer = amocrm.patch(f"/api/v4/leads/{deal_id}", json={"status_id": DONE_STATUS})
    except ReauthorizationRequired as error:  # the refresh token died: a person must reconnect
        app.logger.error("amoCRM needs reconnecting: %s", error)
        return jsonify(error="amoCRM is disconnected; an admin must run amocrm-wizard again"), 503
    if answer.status_code >= 400:
        return jsonify(error=f"amoCRM answered {answer.status_code}"), 502
    return jsonify(deal=deal_id, status_id=DONE_STATUS)
