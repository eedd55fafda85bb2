"""The benchmark's data set written in bulk: a million members in minutes, not hours.

The rows are the ones the app itself stores, made with the app's own code where it decides
anything: `crypto.encrypt` and `crypto.blind_index` for the customer data (one Fernet token
per value, the HMAC over the normalised value), the consent records and access-log rows as
`services.save_consent_and_values`, `erase_customer_data` and `record_accesses` write them,
profiles as the sign-up signal and the Profil tab leave them. What the app does per row and
the builder cannot afford a million times is checked on a sample: every `VALIDATE_EVERY`-th
member's input, and every special row's, goes through `CustomerDataForm`, and the builder
stops if the form normalises anything differently. `tests/bench/test_build.py` compares
builder-made rows with service-made ones.

PostgreSQL gets the rows through `COPY` (psycopg 3's `cursor.copy()`), with the loaded
tables' foreign keys and secondary indexes dropped first and recreated at the end, all in the
one transaction of the build, then `VACUUM (ANALYZE)`. SQLite gets batched `executemany`
INSERTs: `bulk_create` would send the stored ciphertext through the encrypted field again.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from time import monotonic
from typing import Any, TextIO, cast

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, models
from django.db.models.deletion import get_candidate_relations_to_delete
from django.utils import timezone

from bench import names, seed
from bench.progress import Phase, Progress
from community.backends import viewer_queryset
from community.models import Rank
from community.roles import staff_roles
from customer_data import crypto
from customer_data.fields import EncryptedTextField
from customer_data.forms import CustomerDataForm
from customer_data.keycheck import ensure_verified
from customer_data.models import (
    ENCRYPTED_FIELDS,
    ConsentRecord,
    CustomerData,
    KeyCheck,
    PersonalDataAccess,
)
from customer_data.normalise import normalise_customer_number
from customer_data.permissions import fields_of
from profiles.models import Profile

User = get_user_model()
# Members generated and written per round: bounds the memory, sets the progress steps.
CHUNK = 10_000
# One member in this many (and every special row) is validated by CustomerDataForm, which
# costs 0.33 ms a member here: all of a million would add two minutes to the build.
VALIDATE_EVERY = 97
PHONE_SEPARATORS = re.compile(r"[\s/\-]+")
Reason, Action = ConsentRecord.Reason, ConsentRecord.Action

USER_COLUMNS = (
    "id", "password", "last_login", "is_superuser", "username", "first_name", "last_name",
    "email", "is_staff", "is_active", "date_joined",
)  # fmt: skip
PROFILE_COLUMNS = ("user_id", "display_name", "about", "location", "rank_id")
# `filled_count` is not among them: the database computes it from the stored values.
CUSTOMER_DATA_COLUMNS = (
    "user_id", "consent", "consent_version", "consented_at", "customer_number",
    "customer_number_bidx", "mobile_number", "mobile_number_bidx", "further_info",
    "further_info_updated_at", "numbers_updated_at", "created_at", "updated_at",
)  # fmt: skip
CONSENT_COLUMNS = ("user_id", "action", "reason", "consent_text_version", "at", "by_id")
ACCESS_COLUMNS = (
    "viewer_id",
    "subject_id",
    "viewer_name",
    "viewer_roles",
    "channel",
    "fields",
    "at",
)
LOADED_MODELS: tuple[type[models.Model], ...] = (
    User,
    Profile,
    CustomerData,
    ConsentRecord,
    PersonalDataAccess,
)


class BuildError(RuntimeError):
    """The data set cannot be built as the app would store it. Never quotes a value."""


# --- What members type, and what the app makes of it -------------------------------------


def typed_customer_data(rng: random.Random, fields: set[str]) -> dict[str, str]:
    """The Profil tab's customer fields as a member might fill them in (consent on)."""

    def digits(count: int) -> str:
        return "".join(rng.choice("0123456789") for _ in range(count))

    typed = {"consent": "on"}
    if "customer_number" in fields:
        typed["customer_number"] = f"{digits(3)} {digits(4)} {digits(3)}"
    if "mobile_number" in fields:
        prefix, length = rng.choice(seed.MOBILE_PREFIXES)
        typed["mobile_number"] = f"{prefix}{rng.choice('123456789')}{digits(length - 1)}"
    if "further_info" in fields:
        typed["further_info"] = rng.choice(seed.INFOS).format(n=digits(8))
    return typed


def normalised(typed: dict[str, str]) -> dict[str, str]:
    """The non-empty values `CustomerDataForm` cleans `typed` to, for the German numbers
    this module types: the customer number through the app's own normalisation, the phone
    number to E.164 by its digits (the form's phone library takes 0.06 ms a number)."""
    values: dict[str, str] = {}
    if number := normalise_customer_number(typed.get("customer_number", "")):
        values["customer_number"] = number
    if mobile := PHONE_SEPARATORS.sub("", typed.get("mobile_number", "")):
        values["mobile_number"] = f"+49{mobile[1:]}" if mobile.startswith("0") else mobile
    if info := typed.get("further_info", "").strip():
        values["further_info"] = info
    return values


def validated(typed: dict[str, str], *, who: str) -> dict[str, str]:
    """The non-empty values `CustomerDataForm` cleans `typed` to; raises if it refuses them."""
    form = CustomerDataForm(typed)
    if not form.is_valid():
        raise BuildError(
            f"{who}: generated customer data does not validate in {sorted(form.errors)}"
        )
    return {name: form.cleaned_data[name] for name in ENCRYPTED_FIELDS if form.cleaned_data[name]}


def stored_values(typed: dict[str, str], *, who: str, validate: bool) -> dict[str, str]:
    """What the Profil tab would store for `typed`; checked against the form when `validate`."""
    values = normalised(typed)
    if validate:
        by_form = validated(typed, who=who)
        differing = sorted(
            name for name in ENCRYPTED_FIELDS if by_form.get(name) != values.get(name)
        )
        if differing:
            raise BuildError(f"{who}: the builder normalises {differing} unlike CustomerDataForm")
    return values


def customer_data_row(
    *, user_id: int, values: dict[str, str], saved_at: datetime, created_at: datetime
) -> tuple[Any, ...]:
    """The CUSTOMER_DATA_COLUMNS of a member who saved `values` (normalised) with consent at
    `saved_at`, as `save_consent_and_values` leaves the row: each value encrypted, the blind
    indexes over the normalised numbers, both groups' dates (the fill count follows from the
    stored values, a generated column)."""
    number = values.get("customer_number")
    mobile = values.get("mobile_number")
    info = values.get("further_info")
    return (
        user_id,
        True,
        settings.CONSENT_TEXT_VERSION,
        saved_at,
        crypto.encrypt(number) if number else None,
        crypto.blind_index(number) if number else None,
        crypto.encrypt(mobile) if mobile else None,
        crypto.blind_index(mobile) if mobile else None,
        crypto.encrypt(info) if info else None,
        saved_at if info else None,
        saved_at if number or mobile else None,
        created_at,
        saved_at,
    )


@dataclass(frozen=True)
class Viewer:
    """The access log's columns about the viewer, as `services.record_accesses` fills them."""

    id: int
    name: str
    roles: list[str]

    @classmethod
    def of(cls, user: Any) -> Viewer:
        profile = getattr(user, "profile", None)
        name = (profile.display_name if profile else "") or user.get_username()
        return cls(user.pk, name, sorted(role.value for role in staff_roles(user)))

    def access_row(
        self, *, subject_id: int, fields: Sequence[str], at: datetime
    ) -> tuple[Any, ...]:
        channel = PersonalDataAccess.Channel.PROFILE.value
        return (self.id, subject_id, self.name, self.roles, channel, fields_of(fields), at)


# --- Writing rows in bulk -----------------------------------------------------------------


class Sink:
    """Writes rows of one model's columns: COPY on PostgreSQL, executemany elsewhere.

    Values arrive as Python values, except the encrypted columns, which carry the stored
    token. Columns a model has and the rows do not name get the field's default, or the
    database's (`db_default`, and generated columns, which nobody writes).
    """

    def __init__(self) -> None:
        self.copy = connection.vendor == "postgresql"
        self._plans: dict[tuple[type[models.Model], tuple[str, ...]], Any] = {}
        self.rows: dict[str, int] = {}

    def _plan(self, model: type[models.Model], columns: tuple[str, ...]) -> Any:
        key = (model, columns)
        if key not in self._plans:
            opts = model._meta
            given = [cast(models.Field, opts.get_field(name)) for name in columns]
            if generated := [f.name for f in given if f.generated]:
                raise BuildError(f"{opts.label}: {generated} are computed by the database")
            named = {f.attname for f in given}
            missing = [
                f
                for f in opts.concrete_fields
                if f.attname not in named
                and not f.primary_key
                and not f.generated
                and f.db_default is models.NOT_PROVIDED
            ]
            defaults = tuple(f.get_db_prep_save(f.get_default(), connection) for f in missing)
            converters = [
                (position, self._converter(f))
                for position, f in enumerate(given)
                if self._converter(f)
            ]
            quote = connection.ops.quote_name
            names_ = ", ".join(quote(str(f.column)) for f in [*given, *missing])
            table = quote(opts.db_table)
            if self.copy:
                sql = f"COPY {table} ({names_}) FROM STDIN"
            else:
                marks = ", ".join(["%s"] * (len(given) + len(missing)))
                sql = f"INSERT INTO {table} ({names_}) VALUES ({marks})"  # noqa: S608 (model names)
            self._plans[key] = (sql, converters, defaults)
        return self._plans[key]

    @staticmethod
    def _converter(f: models.Field) -> Callable[[Any], Any] | None:
        if isinstance(f, EncryptedTextField):
            return None  # already the stored token
        if isinstance(f, models.DateTimeField):
            return connection.ops.adapt_datetimefield_value
        if isinstance(f, models.JSONField):
            return lambda value: f.get_db_prep_save(value, connection)
        return None

    def write(self, model: type[models.Model], columns: tuple[str, ...], rows: list[tuple]) -> None:
        if not rows:
            return
        sql, converters, defaults = self._plan(model, columns)
        if converters or defaults:
            rows = [self._convert(row, converters, defaults) for row in rows]
        with connection.cursor() as cursor:
            if self.copy:
                with cursor.cursor.copy(sql) as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                cursor.executemany(sql, rows)
        self.rows[model._meta.label] = self.rows.get(model._meta.label, 0) + len(rows)

    @staticmethod
    def _convert(row: tuple, converters: list, defaults: tuple) -> tuple:
        values = list(row)
        for position, convert in converters:
            if values[position] is not None:
                values[position] = convert(values[position])
        return (*values, *defaults)


@dataclass
class Rebuild:
    """The foreign keys and secondary indexes dropped for a load, to create again."""

    indexes: list[tuple[str, str]] = field(default_factory=list)  # (name, CREATE INDEX …)
    foreign_keys: list[tuple[str, str, str]] = field(default_factory=list)  # (table, name, def)


def check_pending_constraints() -> None:
    """Run now the foreign-key checks PostgreSQL deferred to the commit (Django declares its
    foreign keys DEFERRABLE INITIALLY DEFERRED), e.g. those of a million deleted members."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@contextmanager
def loading(loaded: Sequence[type[models.Model]], *, stream: TextIO | None) -> Iterator[None]:
    """On PostgreSQL, load `loaded` without their foreign keys and secondary indexes (every
    index but primary keys and unique constraints): building an index once over sorted
    rows is much cheaper than a million random inserts into it, and a foreign key added
    afterwards checks all rows in one join instead of one query per row. Must run inside
    the build's transaction, so a failed build leaves the tables as they were."""
    if connection.vendor != "postgresql":
        yield
        return
    tables = [model._meta.db_table for model in loaded]
    rebuild = Rebuild()
    quote = connection.ops.quote_name
    check_pending_constraints()  # before their constraints can be altered
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE contype = 'f' AND conrelid = ANY(%s::regclass[]) "
            "ORDER BY 1, 2",
            [tables],
        )
        rebuild.foreign_keys = list(cursor.fetchall())
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid = ANY(%s::regclass[]) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
            "WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid "
            "AND c.contype IN ('p', 'u', 'x')) ORDER BY 1",
            [tables],
        )
        rebuild.indexes = list(cursor.fetchall())
        for table, name, _definition in rebuild.foreign_keys:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")
        for name, _definition in rebuild.indexes:
            cursor.execute(f"DROP INDEX {name}")
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
    yield
    with (
        connection.cursor() as cursor,
        Phase(f"{len(rebuild.indexes)} indexes built", stream=stream),
    ):
        for name, definition in rebuild.indexes:
            # Only the slow ones get a line of their own.
            with Phase(f"index {name}", stream=stream, at_least=1.0):
                cursor.execute(definition)
    with (
        connection.cursor() as cursor,
        Phase(f"{len(rebuild.foreign_keys)} foreign keys checked", stream=stream),
    ):
        for table, name, definition in rebuild.foreign_keys:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}")
        # Back to how Django declares its foreign keys (DEFERRABLE INITIALLY DEFERRED).
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def analyse(loaded: Sequence[type[models.Model]] = LOADED_MODELS) -> None:
    """Planner statistics after a bulk load; on PostgreSQL outside a transaction also VACUUM,
    which sets the visibility map (index-only scans, as counts use) and the hint bits that
    the first readers would otherwise write."""
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute("ANALYZE")
            return
        statement = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
        for model in loaded:
            cursor.execute(f"{statement} {connection.ops.quote_name(model._meta.db_table)}")


def cascade_delete(queryset: models.QuerySet) -> int:
    """Delete the rows of `queryset` in a few set-wise statements, after doing first what each
    foreign key to them says (CASCADE: delete those rows too, the same way; SET_NULL: clear
    the column; PROTECT/RESTRICT: refuse if any). Django's collector would load a million
    members into memory first. Sends no signals: for the benchmark's own members only."""
    keys = queryset.values("pk")
    relation: Any
    for relation in get_candidate_relations_to_delete(queryset.model._meta):
        key = relation.field
        related = relation.related_model._base_manager.filter(**{f"{key.name}__in": keys})
        on_delete = key.remote_field.on_delete
        if on_delete is models.CASCADE:
            cascade_delete(related)
        elif on_delete is models.SET_NULL:
            related.update(**{key.name: None})
        elif on_delete in (models.PROTECT, models.RESTRICT):
            if related.exists():
                raise BuildError(f"{relation.related_model._meta.label} rows protect the members")
        elif on_delete is not models.DO_NOTHING:
            raise BuildError(f"{key} has an on_delete the benchmark cannot apply in bulk")
    deleted: int = queryset._raw_delete(queryset.db)  # type: ignore[attr-defined]
    return deleted


def forget_key_checks_without_data() -> bool:
    """A fresh data set comes with fresh keys. When nothing encrypted is left in the database
    (the old data set is gone), the key-check tokens of the old keys guard nothing; they are
    removed so the new keys can be recorded. With data left, the app's own check decides."""
    newest = KeyCheck.objects.values_list("token", flat=True).first()
    if newest is None or crypto.decrypts(crypto.fernet(), newest):
        return False
    if CustomerData.objects.filter(filled_count__gt=0).exists():
        return False
    KeyCheck.objects.all().delete()
    return True


# --- The members --------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """Who is who among members 1 … N (member 1 is the owner of the page under test)."""

    members: int
    with_data: frozenset[int]
    phone_holder: int | None
    number_holder: int | None
    rare_name: frozenset[int]

    @classmethod
    def draw(cls, members: int, rng: random.Random) -> Plan:
        others = range(2, members + 1)
        # A third store customer data; the owner among them, with all three fields.
        drawn = rng.sample(others, max(0, members // 3 - 1))
        rare = rng.sample(others, min(names.RARE_NAME_MEMBERS, members - 1))
        return cls(
            members=members,
            with_data=frozenset([1, *drawn]),
            # The first two drawn after the owner hold the numbers the staff searches find.
            phone_holder=drawn[0] if drawn else None,
            number_holder=drawn[1] if len(drawn) > 1 else None,
            rare_name=frozenset(rare),
        )

    def special(self, number: int) -> bool:
        return number in (1, self.phone_holder, self.number_holder)


def username_of(number: int) -> str:
    return f"{seed.PREFIX}{number:0{seed.NUMBER_WIDTH}d}"


@dataclass
class Chunk:
    """The rows of one chunk of members, per table."""

    users: list[tuple] = field(default_factory=list)
    profiles: list[tuple] = field(default_factory=list)
    customer_data: list[tuple] = field(default_factory=list)
    consents: list[tuple] = field(default_factory=list)
    accesses: list[tuple] = field(default_factory=list)

    def write(self, sink: Sink) -> None:
        sink.write(User, USER_COLUMNS, self.users)
        sink.write(Profile, PROFILE_COLUMNS, self.profiles)
        sink.write(CustomerData, CUSTOMER_DATA_COLUMNS, self.customer_data)
        sink.write(ConsentRecord, CONSENT_COLUMNS, self.consents)
        sink.write(PersonalDataAccess, ACCESS_COLUMNS, self.accesses)


class Members:
    """Generates the rows of members 1 … N in order, chunk by chunk, from one seeded random
    stream (the same N gives the same data set)."""

    def __init__(self, members: int, password: str, *, first_id: int, viewer: Viewer) -> None:
        self.rng = random.Random(seed.SEED)  # noqa: S311 (test data, not security)
        self.plan = Plan.draw(members, self.rng)
        self.first_id = first_id
        self.viewer = viewer
        self.now = timezone.now()
        # Consent to the current text is given after it took effect (within the last year).
        effective = timezone.make_aware(
            datetime.combine(settings.CONSENT_TEXT_EFFECTIVE_DATE, time.min)
        )
        self.consent_since = max(effective, self.now - timedelta(days=365))
        self.password = make_password(password)  # once: hashing a million would take days
        ranks = list(Rank.objects.order_by("order").values_list("pk", flat=True))
        if not ranks:
            raise BuildError("The rank ladder is empty: run the migrations first.")
        self.ranks = ranks
        self.rank_weights = (
            list(seed.RANK_SHARES)
            if len(ranks) == len(seed.RANK_SHARES)
            else [0.5**i for i in range(len(ranks))]
        )

    def user_id(self, number: int) -> int:
        return self.first_id + number - 1

    def chunk(self, first: int, last: int) -> Chunk:
        rows = Chunk()
        for number in range(first, last + 1):
            self._member(number, rows)
        return rows

    def _member(self, number: int, rows: Chunk) -> None:
        rng, now, plan = self.rng, self.now, self.plan
        user_id, username = self.user_id(number), username_of(number)
        joined = now - timedelta(days=rng.uniform(1, 5 * 365))
        last_login = max(joined, now - timedelta(days=rng.uniform(0, 60)))
        rows.users.append(
            (user_id, self.password, last_login, False, username, "", "",
             f"{username}@example.invalid", False, True, joined)
        )  # fmt: skip
        rows.profiles.append(
            (
                user_id,
                names.RARE_NAME if number in plan.rare_name else names.display_name(rng),
                rng.choice(seed.ABOUTS),
                rng.choice(seed.CITIES) if rng.random() < 0.4 else "",
                self.ranks[0] if number == 1 else rng.choices(self.ranks, self.rank_weights)[0],
            )
        )
        if number in plan.with_data:
            self._customer_data(number, user_id, joined, rows)

    def _customer_data(self, number: int, user_id: int, joined: datetime, rows: Chunk) -> None:
        rng, now, plan = self.rng, self.now, self.plan
        count = 3 if number == 1 else rng.choice((1, 2, 3))
        typed = typed_customer_data(rng, set(rng.sample(ENCRYPTED_FIELDS, count)))
        # Set after drawing, so the other members' data stays as drawn.
        if number == plan.phone_holder:
            typed["mobile_number"] = seed.SEARCHED_MOBILE
        if number == plan.number_holder:
            typed["customer_number"] = seed.SEARCHED_CUSTOMER_NUMBER
        values = stored_values(
            typed,
            who=username_of(number),
            validate=plan.special(number) or number % VALIDATE_EVERY == 0,
        )
        start = max(joined, self.consent_since)
        start = start if start < now else now - timedelta(hours=1)
        saved_at = start + (now - start) * rng.random()
        created_at = saved_at
        if number == 1 or rng.random() < seed.HISTORY_SHARE:
            # Consented to an older text, erased by the retention job once it lapsed, then
            # consented again: the three records the services write for that history.
            old_at = joined + (saved_at - joined) * rng.random() * 0.5
            erased_at = old_at + (saved_at - old_at) * rng.uniform(0.5, 0.99)
            created_at = old_at
            rows.consents += [
                (user_id, Action.GRANTED, Reason.MEMBER, seed.OLD_CONSENT_VERSION, old_at, user_id),
                (user_id, Action.WITHDRAWN, Reason.OUTDATED_CONSENT, seed.OLD_CONSENT_VERSION, erased_at, None),
            ]  # fmt: skip
        rows.consents.append(
            (
                user_id,
                Action.GRANTED,
                Reason.MEMBER,
                settings.CONSENT_TEXT_VERSION,
                saved_at,
                user_id,
            )
        )
        rows.customer_data.append(
            customer_data_row(
                user_id=user_id, values=values, saved_at=saved_at, created_at=created_at
            )
        )
        views = (
            seed.OWNER_ACCESS_ROWS
            if number == 1
            else (rng.choice((1, 2)) if rng.random() < seed.ACCESS_SHARE else 0)
        )
        for _ in range(views):
            at = saved_at + (now - saved_at) * rng.random()
            rows.accesses.append(
                self.viewer.access_row(subject_id=user_id, fields=list(values), at=at)
            )


@dataclass
class Built:
    """What a build wrote and how long it took."""

    members: int
    rows: dict[str, int]
    seconds: dict[str, float]

    @property
    def members_per_second(self) -> float:
        seconds = self.seconds.get("total", 0.0)
        return self.members / seconds if seconds else 0.0


def first_free_id() -> int:
    highest = User._default_manager.aggregate(models.Max("pk"))["pk__max"]
    return (highest or 0) + 1


def build(members: int, password: str, *, stream: TextIO | None = None) -> Built:
    """Write members 1 … `members` with everything that hangs off them. Runs inside the
    caller's transaction; the demo users (`seed_demo`) must exist, `team` writes the log."""
    with Phase("ready", stream=stream) as ready:
        viewer = Viewer.of(viewer_queryset().get(username="team"))
        generator = Members(members, password, first_id=first_free_id(), viewer=viewer)
        ensure_verified()  # the app's key check, once, before the first value is encrypted
    sink = Sink()
    progress = Progress("members", members, stream=stream)
    with loading(LOADED_MODELS, stream=stream):
        for first in range(1, members + 1, CHUNK):
            last = min(members, first + CHUNK - 1)
            generator.chunk(first, last).write(sink)
            progress.advance(last)
        written = progress.finish()
        indexes_from = monotonic()  # `loading` recreates them as it closes
    indexes = monotonic() - indexes_from
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), [User]):
            cursor.execute(statement)
    return Built(
        members=members,
        rows=sink.rows,
        seconds={
            "ready": round(ready.seconds, 1),
            "rows": round(written, 1),
            "indexes": round(indexes, 1),
        },
    )
