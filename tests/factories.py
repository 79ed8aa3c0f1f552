from __future__ import annotations

import datetime as dt

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone

from peersupport.models import ConsentDecision, ConsentVersion, Organisation, Role, RoleKind, User

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    display_name = factory.Sequence(lambda n: f"Person {n}")

    @factory.post_generation
    def password(obj, create, extracted, **kwargs):
        obj.set_password(extracted or PASSWORD)
        if create:
            obj.save(update_fields=["password"])
            EmailAddress.objects.create(user=obj, email=obj.email, verified=True, primary=True)


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Service {n}")
    slug = factory.Sequence(lambda n: f"service-{n}")
    time_zone = "Europe/London"
    crisis_support_text = "Call 116 123 at any time."


class RoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Role

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    kind = RoleKind.MEMBER


class ConsentVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConsentVersion

    organisation = factory.SubFactory(OrganisationFactory)
    version = factory.Sequence(lambda n: n + 1)
    effective_date = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=30))
    text = "We keep your answers to learn whether the groups help."


def person(organisation: Organisation, kind: str = RoleKind.MEMBER, **kwargs) -> User:
    user = UserFactory(**kwargs)
    RoleFactory(user=user, organisation=organisation, kind=kind)
    return user


def consenting_member(organisation: Organisation, **kwargs) -> User:
    """A member who has accepted the organisation's current consent version (creating one if needed)."""
    version = organisation.consent_versions.order_by("-version").first() or ConsentVersionFactory(
        organisation=organisation, version=1
    )
    user = person(organisation, RoleKind.MEMBER, **kwargs)
    ConsentDecision.objects.create(user=user, consent_version=version, action=ConsentDecision.Action.GIVEN)
    return user
