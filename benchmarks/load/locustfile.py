"""The people of the load benchmark, as locust users. ``run.py`` starts locust with this file.

- A **member** signs in, opens their questionnaires, answers each item (one autosave per answer, as
  ``questionnaire.js`` does), submits both questionnaires and signs out; the next journey is another member.
- A **facilitator** stays signed in, opens their dashboard and takes the register of a session there.
- A **lead** stays signed in, opens the dashboard, the evaluation and the exports, and downloads the summary CSV.

Each journey also fetches a static file, as a browser with an empty cache would: the static file's times are
the yardstick of the target. Each simulated person connects from an address of their own on 127.0.0.0/8,
so the server's per-address sign-in limits see 50 people, not one.

Reads ``LOAD_ACCOUNTS`` (a JSON file of the organisation's slug and e-mail addresses) and ``LOAD_STATIC``.
Requests are named by what the person does (``member: questionnaire page``), whatever the ids in the URL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import os
import random
import re
import struct
import time

import gevent
from locust import HttpUser, between, task
from requests.adapters import HTTPAdapter

ACCOUNTS = json.loads(open(os.environ["LOAD_ACCOUNTS"]).read())  # noqa: SIM115, PTH123
ORG = ACCOUNTS["organisation"]
STATIC = os.environ["LOAD_STATIC"]
PASSWORD = "peer-support-demo"  # peersupport.demo.DEMO_PASSWORD, given by run.py
TOTP_SECRET = "PEERSUPPORTDEMOPEERSUPPORTDEMO22"  # peersupport.demo.DEMO_TOTP_SECRET: staff's authenticator
RISK_SHARE = 0.05  # members whose PHQ-9 item 9 is not "not at all": a risk alert and its e-mails

_members = itertools.cycle(ACCOUNTS["members"])
_facilitators = itertools.cycle(ACCOUNTS["facilitators"])
_leads = itertools.cycle(ACCOUNTS["leads"])
_addresses = itertools.count(2)

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
RADIO = re.compile(r'type="radio" name="([^"]+)" id="[^"]+" value="([^"]+)"')


class SourceAddressAdapter(HTTPAdapter):
    """Connect from one loopback address (127.0.x.y), as one person's device would from its own."""

    def __init__(self, address: str, **kwargs):
        self.address = address
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def totp_code(secret: str = TOTP_SECRET) -> str:
    """The six digits an authenticator app shows now (RFC 6238: 30 s steps, SHA-1), as allauth checks them."""
    key = base64.b32decode(secret)
    digest = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def csrf(html: str) -> str:
    found = CSRF.search(html)
    return found.group(1) if found else ""


class Person(HttpUser):
    abstract = True
    wait_time = between(1, 3)

    def on_start(self):
        n = next(_addresses)
        self.client.mount("http://", SourceAddressAdapter(f"127.0.{n // 250}.{n % 250 + 2}"))

    def static_file(self):
        self.client.get(STATIC, name="static file")

    def sign_in(self, email: str, who: str) -> bool:
        page = self.client.get("/accounts/login/", name=f"{who}: sign-in page")
        with self.client.post(
            "/accounts/login/",
            data={"csrfmiddlewaretoken": csrf(page.text), "login": email, "password": PASSWORD},
            headers={"Referer": page.url},
            name=f"{who}: sign in",
            catch_response=True,
        ) as answer:
            if "/accounts/login/" in answer.url or answer.status_code != 200:
                answer.failure(f"not signed in ({answer.status_code} at {answer.url})")
                return False
            second_factor = "/2fa/authenticate/" in answer.url
        if not second_factor:
            return True
        # Staff: the authenticator's code after the password. A code is good for about a minute (allauth's
        # tolerance of one 30 s step); on a saturated machine the request can wait longer than that in the
        # server's queue, and the page asks again, as it would a person, who types the code shown then: one more
        # try, named apart so the figures show how often it happened.
        page, name = answer, f"{who}: second factor"
        for attempt in range(2):
            with self.client.post(
                page.url,
                data={"csrfmiddlewaretoken": csrf(page.text), "code": totp_code()},
                headers={"Referer": page.url},
                name=name,
                catch_response=True,
            ) as answered:
                if (
                    answered.status_code == 200
                    and "/2fa/" not in answered.url
                    and "/accounts/login/" not in answered.url
                ):
                    return True
                if attempt == 0 and answered.status_code == 200 and "/2fa/authenticate/" in answered.url:
                    answered.success()  # the server answered correctly: the code had expired while it waited
                    page, name = answered, f"{who}: second factor, typed again"
                    continue
                answered.failure(f"second factor refused ({answered.status_code} at {answered.url})")
                return False
        return False

    def sign_out(self, who: str):
        page = self.client.get("/accounts/logout/", name=f"{who}: sign-out page")  # "Sign out" in the menu
        self.client.post(
            "/accounts/logout/",
            data={"csrfmiddlewaretoken": csrf(page.text)},
            headers={"Referer": page.url},
            name=f"{who}: sign out",
        )
        self.client.cookies.clear()


class Member(Person):
    weight = 7

    @task
    def answer_questionnaires(self):
        email = next(_members)
        if not self.sign_in(email, "member"):
            return
        self.static_file()
        listing = self.client.get(f"/o/{ORG}/questionnaires/", name="member: questionnaire list")
        found = re.search(rf'href="(/o/{ORG}/questionnaires/\d+/)"', listing.text)
        if found:
            self.answer(found.group(1))
        self.sign_out("member")

    def answer(self, assessment_url: str):
        for _ in range(4):  # two questionnaires, and a margin
            start = self.client.get(assessment_url, name="member: open questionnaire", allow_redirects=False)
            if start.status_code != 302:
                return  # done: the assessment page says so
            page = self.client.get(start.headers["Location"], name="member: questionnaire page")
            token = csrf(page.text)
            options: dict[str, list[str]] = {}
            for key, value in RADIO.findall(page.text):
                options.setdefault(key, []).append(value)
            if not options:
                return
            answers = {key: random.choice(values[:2]) for key, values in options.items()}
            if "q9" in answers and "/phq9/" in page.url:  # PHQ-9 item 9: "not at all" unless at risk
                answers["q9"] = values_of(options, "q9", risk=random.random() < RISK_SHARE)
            autosave = page.url.rstrip("/") + "/autosave/"
            for key, value in answers.items():
                self.client.post(
                    autosave,
                    data={"csrfmiddlewaretoken": token, key: value},
                    headers={"X-CSRFToken": token, "Referer": page.url},
                    name="member: autosave an answer",
                )
                gevent.sleep(random.uniform(0.3, 1.2))  # reading the next question
            self.client.post(
                page.url,
                data={"csrfmiddlewaretoken": token, "action": "submit", **answers},
                headers={"Referer": page.url},
                name="member: submit questionnaire",
                allow_redirects=False,
            )


def values_of(options: dict[str, list[str]], key: str, *, risk: bool) -> str:
    values = options[key]
    return values[1] if risk and len(values) > 1 else values[0]


class Facilitator(Person):
    weight = 2

    def on_start(self):
        super().on_start()
        self.signed_in = self.sign_in(next(_facilitators), "facilitator")

    @task
    def take_a_register(self):
        if not self.signed_in:
            return
        dashboard = self.client.get(f"/o/{ORG}/facilitator/", name="facilitator: dashboard")
        self.static_file()
        registers = re.findall(rf'href="(/o/{ORG}/sessions/\d+/register/)"', dashboard.text)
        if not registers:
            return
        url = random.choice(registers)
        page = self.client.get(url, name="facilitator: register page")
        if "csrfmiddlewaretoken" not in page.text:
            return  # a cancelled session, or a group with nobody active: nothing to record
        self.client.post(
            url,
            data={"csrfmiddlewaretoken": csrf(page.text), "all_present": "1"},
            headers={"Referer": page.url},
            name="facilitator: save register",
        )


class Lead(Person):
    weight = 1

    def on_start(self):
        super().on_start()
        self.signed_in = self.sign_in(next(_leads), "lead")

    @task
    def evaluate_and_export(self):
        if not self.signed_in:
            return
        self.client.get(f"/o/{ORG}/lead/", name="lead: dashboard")
        self.static_file()
        self.client.get(f"/o/{ORG}/groups/?page=2", name="lead: group list, page 2")
        self.client.get(f"/o/{ORG}/evaluation/", name="lead: evaluation")
        self.client.get(f"/o/{ORG}/lead/exports/", name="lead: exports page")
        self.client.get(f"/o/{ORG}/lead/exports/summary.csv", name="lead: export summary CSV")
