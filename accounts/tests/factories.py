import factory

from accounts.models import Profile, User

TEST_PASSWORD = "pass12345!"


class UserFactory(factory.django.DjangoModelFactory):
    """A member with a profile; log in with `TEST_PASSWORD`."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"member{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)
    profile = factory.RelatedFactory(
        "accounts.tests.factories.ProfileFactory", factory_related_name="user"
    )

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])

    @factory.post_generation
    def email_verified(obj, create, extracted, **kwargs):
        """Members have confirmed their email (login needs it); `email_verified=False` not."""
        if create and extracted is not False:
            from accounts.services import user_email_mark_verified

            user_email_mark_verified(user=obj)


class ProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Profile
        django_get_or_create = ("user",)

    user = factory.SubFactory(UserFactory, profile=None)
    display_name = factory.Faker("name")
