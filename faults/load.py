"""The mixed load that runs through every phase: members saving the Profil tab, staff reading
profile pages, a reader on the public pages and the probes, and the retention purge.

Every request is recorded (kind, start, end, label, success); every save is recorded per
member with what the member was told, so the verification can tell which stored states are
acceptable. Each member is driven by one thread only, so a member's saves are sequential.
All loops stop on `stop`, and every request has its own timeout.
"""

from __future__ import annotations

import contextlib
import html
import random
import re
import select
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from faults.client import SESSION_COOKIES, Answer, Browser
from faults.report import (
    AccessBounds,
    Attempt,
    Outcome,
    RequestRecord,
    StoredState,
    classify_page,
    classify_save,
    classify_staff_view,
    exception_name,
    member_values,
)
from faults.servers import BASE_DIR, PYTHON

WITHDRAW_SHARE = 0.15
SETTINGS_PAGE_SHARE = 0.2
MARKER = re.compile(rb"FLT-m(\d{4})-n\d{6}")
STAMP = re.compile(rb'name="confirm_withdrawal"[^>]*\bdata-stamp="([^"]*)"')
PURGE_COUNT = re.compile(r"(\d+)")
LOGIN_RETRY_SECONDS = 1.0
READER_PAGES = (
    ("home", "/"),
    ("directory", "/members/"),
    ("directory", "/members/?sort=-joined"),
)
# Probed like a load balancer would: on their own, twice a second, with a short timeout.
PROBES = (("readyz", "/readyz"), ("healthz", "/healthz"))
PROBE_INTERVAL = 0.5
PROBE_TIMEOUT = 3.0


class Recorder:
    """Thread-safe list of every request of the run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.records: list[RequestRecord] = []

    def add(self, kind: str, answer: Answer, label: str, ok: bool) -> None:
        record = RequestRecord(kind, answer.started, answer.ended, label, ok)
        with self._lock:
            self.records.append(record)

    def snapshot(self) -> list[RequestRecord]:
        with self._lock:
            return list(self.records)


@dataclass
class Member:
    username: str
    index: int
    browser: Browser
    counter: int = 0
    logged_in: bool = False
    retry_at: float = 0.0
    attempts: list[Attempt] = field(default_factory=list)


@dataclass
class Staff:
    username: str
    browser: Browser
    logged_in: bool = False
    retry_at: float = 0.0


@dataclass(frozen=True)
class PurgeRun:
    started: float
    ended: float
    returncode: int | None  # None: killed after its timeout
    erased: int | None
    error: str


@dataclass
class LoadConfig:
    host: str
    port: int
    password: str
    savers: list[str]
    indexes: dict[str, int]
    subjects: list[str]
    staff: list[str]
    reader: str
    env: dict[str, str]
    member_threads: int = 10
    request_timeout: float = 10.0
    # False behind the run's nginx, which sets X-Forwarded-Proto itself.
    says_forwarded_proto: bool = True
    purge_interval: float = 4.0
    purge_timeout: float = 30.0
    seed: int = 20261


class Load:
    """Starts, pauses (for a consistent look at the data) and stops the load."""

    def __init__(self, config: LoadConfig, recorder: Recorder) -> None:
        self.config = config
        self.recorder = recorder
        self.stop = threading.Event()
        self.start_line = threading.Event()
        self.saving = threading.Event()
        self.saving.set()
        self._active = 0
        self._active_lock = threading.Condition()
        self._ready_lock = threading.Lock()
        self._ready = 0
        self._expected_ready = 0
        self.members = [
            Member(name, config.indexes[name], self._browser()) for name in config.savers
        ]
        self.staff = [Staff(name, self._browser()) for name in config.staff]
        self.reader = Staff(config.reader, self._browser())
        self.bounds: dict[tuple[str, str], AccessBounds] = {}
        self.probe_browser = self._browser(timeout=PROBE_TIMEOUT)
        self.foreign_values = 0
        self.purges: list[PurgeRun] = []
        self.slow_window: tuple[float, float] | None = None
        self.threads: list[threading.Thread] = []
        self._bounds_lock = threading.Lock()

    def _browser(self, timeout: float | None = None) -> Browser:
        return Browser(
            self.config.host,
            self.config.port,
            timeout=self.config.request_timeout if timeout is None else timeout,
            says_forwarded_proto=self.config.says_forwarded_proto,
        )

    @property
    def browsers(self) -> list[Browser]:
        people: list[Member | Staff] = [*self.members, *self.staff, self.reader]
        return [*(person.browser for person in people), self.probe_browser]

    def reroute(self, port: int, *, says_forwarded_proto: bool) -> None:
        """Send every later request to `port` (e.g. gunicorn's, past the proxy). The header
        flag is set first: X-Forwarded-Proto sent to the proxy is harmless (it sets its own),
        a request reaching the app without it would not be."""
        for browser in self.browsers:
            browser.says_forwarded_proto = browser.says_forwarded_proto or says_forwarded_proto
        for browser in self.browsers:
            browser.port = port
        for browser in self.browsers:
            browser.says_forwarded_proto = says_forwarded_proto

    # --- lifecycle ---

    def start(self) -> None:
        """Start every thread; they log in, then wait for `release`."""
        groups = [
            self.members[index :: self.config.member_threads]
            for index in range(self.config.member_threads)
        ]
        for number, group in enumerate(group for group in groups if group):
            self._spawn(f"members-{number}", self._member_loop, group, number)
        for number, person in enumerate(self.staff):
            self._spawn(f"staff-{number}", self._staff_loop, person, number)
        self._spawn("reader", self._reader_loop)
        self._spawn("probe", self._probe_loop)
        self._expected_ready = len(self.threads)

    def _spawn(self, name: str, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def wait_ready(self, timeout: float) -> bool:
        """Whether every thread has finished its logins (or given up on them) in time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._ready_lock:
                if self._ready >= self._expected_ready:
                    return True
            time.sleep(0.1)
        return False

    def _mark_ready(self) -> None:
        with self._ready_lock:
            self._ready += 1

    def release(self) -> None:
        self.start_line.set()

    def start_purges(self) -> subprocess.Popen[bytes] | None:
        """The first purge, loaded and held at the start line; the purge thread takes over."""
        process = subprocess.Popen(  # noqa: S603 (fixed program)
            [PYTHON, "-m", "faults.dbstate", "purge-on-go"],
            cwd=BASE_DIR,
            env=self.config.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        output = process.stdout
        ready = select.select([output], [], [], 30)[0] if output else []
        if not ready or output is None or output.readline().strip() != b"ready":
            process.kill()
            process.wait(timeout=5)
            return None
        self._spawn("purge", self._purge_loop, process)
        return process

    @contextlib.contextmanager
    def paused_saves(self, timeout: float) -> Iterator[bool]:
        """Hold every member between two saves; yields whether all saves in flight ended."""
        deadline = time.monotonic() + timeout
        with self._active_lock:
            # Under the lock a member either has entered its save already (and is waited
            # for here) or will see the pause before it starts one.
            self.saving.clear()
            while self._active and time.monotonic() < deadline:
                self._active_lock.wait(0.1)
            settled = self._active == 0
        try:
            yield settled
        finally:
            with self._active_lock:
                self.saving.set()
                self._active_lock.notify_all()

    @contextlib.contextmanager
    def _saving(self) -> Iterator[bool]:
        """Enter a save unless the saves are paused (then wait) or the load stops (False)."""
        with self._active_lock:
            while not self.saving.is_set() and not self.stop.is_set():
                self._active_lock.wait(0.1)
            if self.stop.is_set():
                entered = False
            else:
                self._active += 1
                entered = True
        try:
            yield entered
        finally:
            if entered:
                with self._active_lock:
                    self._active -= 1
                    self._active_lock.notify_all()

    def finish(self, timeout: float) -> None:
        self.stop.set()
        self.start_line.set()
        self.saving.set()
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.1, deadline - time.monotonic()))

    def _wait(self, seconds: float) -> None:
        self.stop.wait(seconds)

    # --- logging in ---

    def _log_in(self, browser: Browser, username: str) -> bool:
        browser.forget_session()
        page = browser.request("GET", "/accounts/login/")
        label, ok = classify_page("login", page.status, page.error)
        self.recorder.add("login", page, label, ok)
        token = browser.csrf_token(page.body) if ok else None
        if not token:
            return False
        answer = browser.request(
            "POST",
            "/accounts/login/",
            form={
                "username": username,
                "password": self.config.password,
                "csrfmiddlewaretoken": token,
                "next": "",
            },
            referer="/accounts/login/",
        )
        ok = answer.status == 302 and browser.cookie(SESSION_COOKIES) is not None
        if ok:
            label = "ok"
        elif answer.status == 200:
            label = "200-form"
        else:
            label = answer.error or str(answer.status)
        self.recorder.add("login", answer, label, ok)
        return ok

    def _ensure_login(self, person: Member | Staff) -> bool:
        if person.logged_in:
            return True
        if time.time() < person.retry_at:
            return False
        person.logged_in = self._log_in(person.browser, person.username)
        if not person.logged_in:
            person.retry_at = time.time() + LOGIN_RETRY_SECONDS
        return person.logged_in

    # --- members ---

    def _member_loop(self, group: list[Member], number: int) -> None:
        rng = random.Random(self.config.seed + number)  # noqa: S311 (load pattern, not security)
        for member in group:
            if not self.stop.is_set():
                self._ensure_login(member)
        self._mark_ready()
        self.start_line.wait()
        while not self.stop.is_set():
            for member in group:
                if self.stop.is_set():
                    break
                # Logging in changes no customer data: it may happen during a pause.
                if not self._ensure_login(member):
                    self._wait(0.05)
                    continue
                with self._saving() as entered:
                    if entered:
                        self._save(member, rng)
                self._wait(rng.uniform(0.02, 0.12))
            self._wait(0.05)

    def _settings_page(self, member: Member) -> Answer | None:
        """GET the Profil tab as the browser shows it before a save; None if that failed."""
        page = member.browser.request("GET", "/settings/profile/")
        label, ok = classify_page("settings", page.status, page.error)
        self.recorder.add("settings", page, label, ok)
        if label == "302→login":
            member.logged_in = False
        return page if ok else None

    def _save(self, member: Member, rng: random.Random) -> None:
        """One "Speichern" of the Profil tab: new values with consent, or a withdrawal.

        A withdrawal is sent the way the page's script sends it: the switch turned off
        copies the stamp of the stored state from the page into `confirm_withdrawal`, so
        the page is read first. Other saves read it now and then, as members do.
        """
        withdraw = rng.random() < WITHDRAW_SHARE
        stamp = ""
        if withdraw or rng.random() < SETTINGS_PAGE_SHARE:
            page = self._settings_page(member)
            if page is None:
                return
            match = STAMP.search(page.body)
            stamp = html.unescape(match.group(1).decode()) if match else ""
        member.counter += 1
        values = member_values(member.index, member.counter)
        form = {
            "csrfmiddlewaretoken": member.browser.csrf_token() or "",
            "profile-display_name": f"Mitglied {member.index}",
            "profile-about": "",
            "profile-location": "",
            "confirm_withdrawal": stamp if withdraw else "",
        }
        if not withdraw:
            number, mobile, info = values
            form.update(
                {
                    "customer-consent": "on",
                    "customer-customer_number": number,
                    "customer-mobile_number": mobile,
                    "customer-further_info": info,
                }
            )
        state = StoredState.of(consent=not withdraw, values=values)
        answer = member.browser.request(
            "POST", "/settings/profile/", form=form, referer="/settings/profile/"
        )
        label, outcome = classify_save(answer.status, answer.location, answer.error)
        member.attempts.append(
            Attempt(member.counter, state, outcome, answer.started, answer.ended)
        )
        self.recorder.add("save", answer, label, outcome is Outcome.APPLIED)
        if label == "302→login" or answer.status == 403:
            member.logged_in = False

    # --- staff ---

    def _staff_loop(self, person: Staff, number: int) -> None:
        rng = random.Random(self.config.seed + 1000 + number)  # noqa: S311 (load pattern)
        self._ensure_login(person)
        self._mark_ready()
        self.start_line.wait()
        while not self.stop.is_set():
            if not self._ensure_login(person):
                self._wait(0.2)
                continue
            subject = rng.choice(self.config.subjects)
            answer = person.browser.request("GET", f"/members/{subject}/")
            result = classify_staff_view(answer.status, answer.body, answer.error)
            self.recorder.add("view", answer, result.label, result.ok)
            with self._bounds_lock:
                bound = self.bounds.get((person.username, subject), AccessBounds())
                self.bounds[(person.username, subject)] = AccessBounds(
                    shown=bound.shown + (result.shown is True),
                    unknown=bound.unknown + (result.shown is None),
                )
                if result.shown:
                    expected = self.config.indexes.get(subject)
                    self.foreign_values += sum(
                        int(found) != expected for found in MARKER.findall(answer.body)
                    )
            if not result.logged_in:
                person.logged_in = False
            self._wait(rng.uniform(0.05, 0.2))

    # --- reader (home and directory, signed in) and the probes ---

    def _reader_loop(self) -> None:
        self._ensure_login(self.reader)
        self._mark_ready()
        self.start_line.wait()
        position = 0
        while not self.stop.is_set():
            kind, path = READER_PAGES[position % len(READER_PAGES)]
            position += 1
            self._ensure_login(self.reader)
            answer = self.reader.browser.request("GET", path)
            label, ok = classify_page(kind, answer.status, answer.error)
            if ok and b"/accounts/login/?next=" in answer.body:
                label, ok = "logged-out", False
                self.reader.logged_in = False
            self.recorder.add(kind, answer, label, ok)
            self._wait(0.1)

    def _probe_loop(self) -> None:
        """/readyz and /healthz, anonymous, each on its own schedule."""
        browser = self.probe_browser
        self._mark_ready()
        self.start_line.wait()
        while not self.stop.is_set():
            started = time.monotonic()
            for kind, path in PROBES:
                answer = browser.request("GET", path)
                if kind == "readyz" and answer.status == 404:
                    label = "404-missing"
                else:
                    label = classify_page(kind, answer.status, answer.error)[0]
                self.recorder.add(kind, answer, label, label == "ok")
            self._wait(max(0.05, PROBE_INTERVAL - (time.monotonic() - started)))

    # --- purge ---

    def _purge_loop(self, first: subprocess.Popen[bytes]) -> None:
        self.start_line.wait()
        started = time.time()
        try:
            out, err = first.communicate(b"go\n", timeout=self.config.purge_timeout)
            self._record_purge(started, first.returncode, out.decode(), err.decode())
        except subprocess.TimeoutExpired:
            first.kill()
            first.communicate(timeout=5)
            self._record_purge(started, None, "", "killed after timeout")
        while not self.stop.is_set():
            self._wait(self.config.purge_interval)
            if self.stop.is_set():
                break
            started = time.time()
            try:
                result = subprocess.run(  # noqa: S603 (fixed program)
                    [PYTHON, "manage.py", "purge_stale_customer_data"],
                    cwd=BASE_DIR,
                    env=self.config.env,
                    capture_output=True,
                    text=True,
                    timeout=self.config.purge_timeout,
                    check=False,
                )
                self._record_purge(started, result.returncode, result.stdout, result.stderr)
            except subprocess.TimeoutExpired:
                self._record_purge(started, None, "", "killed after timeout")

    def _record_purge(self, started: float, returncode: int | None, out: str, err: str) -> None:
        erased = None
        if returncode == 0:
            numbers = PURGE_COUNT.findall(out)
            erased = int(numbers[0]) if numbers else None
        error = ""
        if returncode is None:
            error = err
        elif returncode != 0:
            # The exception's type only (the message could hold values).
            error = exception_name(err)
        self.purges.append(PurgeRun(started, time.time(), returncode, erased, error))
