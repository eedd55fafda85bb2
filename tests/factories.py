"""One factory per model the tests create, with traits; and the suite's one set of sample values.

The sample values are fake. Every test that needs "a member's customer data" uses these, so a
leak check that looks for them looks for what was actually stored.
"""

import factory
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import override_settings
from factory.django import DjangoModelFactory

from community.backends import viewer_queryset
from community.models import Rank, StaffRole
from customer_data.models import ENCRYPTED_FIELDS, ConsentRecord, CustomerData, PersonalDataAccess
from customer_data.services import record_access, save_consent_and_values
from profiles.models import Profile

PASSWORD = "correct horse battery staple"

# --- Sample customer data ---

CUSTOMER_NUMBER = "4711081512"
MOBILE_NUMBER = "+491701234567"  # as stored (E.164)
MOBILE_NUMBER_SHOWN = "0170 1234567"  # as the pages show it, and as a member types it
FURTHER_INFO = "Rückruf bitte ab 18 Uhr, Auftrag A-99172"
VALUES = {
    "customer_number": CUSTOMER_NUMBER,
    "mobile_number": MOBILE_NUMBER,
    "further_info": FURTHER_INFO,
}
# The same values as a member types them into the Profil tab.
TYPED = {
    "customer_number": "4711 0815-12",
    "mobile_number": MOBILE_NUMBER_SHOWN,
    "further_info": FURTHER_INFO,
}
# A consent text older than any the site has in force.
OUTDATED_CONSENT_TEXT_VERSION = "2000-01"


class UserFactory(DjangoModelFactory):
    """A member. `UserFactory(rank="mitgestalter", role=StaffRole.COMMUNITY_MANAGEMENT)`."""

    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.invalid")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def rank(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        if create and extracted:
            Profile.objects.filter(user=self).update(rank=Rank.objects.get(code=extracted))

    @factory.post_generation
    def role(self, create: bool, extracted: StaffRole | None, **kwargs: object) -> None:
        if create and extracted:
            self.groups.add(Group.objects.get(staff_role__code=extracted))

    @factory.post_generation
    def display_name(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        if create and extracted:
            Profile.objects.filter(user=self).update(display_name=extracted)


class CustomerDataFactory(DjangoModelFactory):
    """A member's customer data, saved the way the Profil tab saves it: through the service,
    so the consent is recorded and the values are encrypted and indexed. Values are given as
    the form hands them over (normalised: digits only, E.164).

    - `CustomerDataFactory(user=owner)`: consent given, nothing stored (0 %).
    - `(partly=True)`: customer number and mobile number (2 of 3, 67 %).
    - `(full=True)`: all three sample values (100 %).
    - `(outdated_consent=True)`: all three, stored under a consent text that is no longer in
      force, so they count as absent (0 %) until the member consents again.
    - Any value can be given by name: `CustomerDataFactory(user=owner, mobile_number="...")`.
    - `consent=False` saves as the switch turned off does: nothing posted is stored, and
      what was stored before is erased.
    - `.build()` gives an unsaved row with the same values (for code that needs no database).

    Calling it again for the same member saves again, as a second "Speichern" does.
    """

    class Meta:
        model = CustomerData

    user = factory.SubFactory(UserFactory)
    consent = True
    consent_version = factory.LazyFunction(lambda: settings.CONSENT_TEXT_VERSION)
    customer_number = None
    mobile_number = None
    further_info = None

    class Params:
        full = factory.Trait(**VALUES)
        partly = factory.Trait(customer_number=CUSTOMER_NUMBER, mobile_number=MOBILE_NUMBER)
        outdated_consent = factory.Trait(full=True, consent_version=OUTDATED_CONSENT_TEXT_VERSION)

    @classmethod
    def _create(cls, model_class, *, user, consent, consent_version, **values):
        # The consent text in force at the moment of saving decides which version is recorded.
        with override_settings(CONSENT_TEXT_VERSION=consent_version):
            return save_consent_and_values(
                user_id=user.pk, by=user, consent=consent, cleaned=values
            )


class ConsentRecordFactory(DjangoModelFactory):
    """One entry of a member's consent history: a grant by the member for the current text.

    `(withdrawn=True)` for a withdrawal; `at=` dates it. Records are append-only, and a record
    alone changes nothing about the member's customer data (use `CustomerDataFactory` for
    consent that counts).
    """

    class Meta:
        model = ConsentRecord

    user = factory.SubFactory(UserFactory)
    action = ConsentRecord.Action.GRANTED
    reason = ConsentRecord.Reason.MEMBER
    consent_text_version = factory.LazyFunction(lambda: settings.CONSENT_TEXT_VERSION)
    by = factory.SelfAttribute("user")

    class Params:
        withdrawn = factory.Trait(action=ConsentRecord.Action.WITHDRAWN)


class PersonalDataAccessFactory(DjangoModelFactory):
    """One access-log row: a Telekom hilft Team member was shown all three values of
    `subject` on the profile page. Written as the site writes it (`record_access`), so the
    viewer's name and roles are those they have now.

    `(via_admin=True)` for a view in the staff admin; `fields=` for fewer fields; `at=`
    back-dates the row (time travel past the append-only guard).
    """

    class Meta:
        model = PersonalDataAccess

    viewer = factory.SubFactory(
        UserFactory, role=StaffRole.TELEKOM_HILFT_TEAM, is_staff=True, display_name="Tom vom Team"
    )
    subject = factory.SubFactory(UserFactory)
    channel = PersonalDataAccess.Channel.PROFILE
    fields = factory.LazyFunction(lambda: list(ENCRYPTED_FIELDS))
    at = None

    class Params:
        via_admin = factory.Trait(channel=PersonalDataAccess.Channel.ADMIN)

    @classmethod
    def _create(cls, model_class, *, viewer, subject, channel, fields, at):
        from tests.helpers import rewrite_history  # (tests.helpers imports this module)

        # The viewer as a request loads them: their name and roles as stored now.
        viewer = viewer_queryset().get(pk=viewer.pk)
        access = record_access(viewer=viewer, subject_id=subject.pk, channel=channel, fields=fields)
        if at is not None:
            rewrite_history(model_class.objects.filter(pk=access.pk), at=at)
            access.at = at
        return access
