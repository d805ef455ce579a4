import factory

from accounts.models import User, new_account_code


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("phone_number",)

    phone_number = factory.Sequence(lambda n: f"+2547{n % 100_000_000:08d}")
    name = factory.Faker("name")
    role = User.Role.MEMBER
    account_code = factory.LazyFunction(new_account_code)
    password = factory.django.Password(None)


class OrgAdminFactory(UserFactory):
    role = User.Role.ORG_ADMIN
