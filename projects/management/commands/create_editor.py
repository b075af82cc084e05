import getpass
import os
import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from projects.roles import EDITOR, REVIEWER, roles_sync


class Command(BaseCommand):
    help = (
        "Add a person to the editors: create the user, or update an existing one, as staff in "
        "the Editor group, and with --reviewer also in Reviewer (publish and delete). Never "
        "takes a role away: that is done in the admin."
    )
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default=None, help="Set the user's email address.")
        parser.add_argument(
            "--reviewer",
            action="store_true",
            help="Also add to Reviewer; reviewers stay in Editor too.",
        )
        password = parser.add_mutually_exclusive_group()
        password.add_argument(
            "--password-from-env",
            metavar="VAR",
            default=None,
            help="Read the password from the environment variable VAR.",
        )
        password.add_argument(
            "--no-password",
            action="store_true",
            help="Leave the password as it is; a new user gets none (set it later).",
        )

    def handle(self, username, **options):
        password = self._password(options, options.get("stdin", sys.stdin))
        with transaction.atomic():
            roles_sync()
            user, created = self._user_save(username, options["email"], password)
            groups = [EDITOR, REVIEWER] if options["reviewer"] else [EDITOR]
            user.groups.add(*Group.objects.filter(name__in=groups))
        held = ", ".join(user.groups.order_by("name").values_list("name", flat=True))
        action = "Created" if created else "Updated"
        password_note = "password set" if password else "password unchanged"
        if created and not password:
            password_note = "no password yet"
        self.stdout.write(f"{action} staff user {username!r} in {held}; {password_note}.")

    def _password(self, options, stdin) -> str | None:
        if options["no_password"]:
            return None
        if variable := options["password_from_env"]:
            if not os.environ.get(variable):
                raise CommandError(f"The environment variable {variable} is not set or empty.")
            return os.environ[variable]
        if not (hasattr(stdin, "isatty") and stdin.isatty()):
            raise CommandError(
                "No terminal to ask for a password: use --password-from-env VAR or --no-password."
            )
        password = getpass.getpass("Password: ")
        if not password:
            raise CommandError("The password is empty.")
        if password != getpass.getpass("Password (again): "):
            raise CommandError("The passwords do not match.")
        return password

    def _user_save(self, username: str, email: str | None, password: str | None):
        user_model = get_user_model()
        user = user_model.objects.filter(**{user_model.USERNAME_FIELD: username}).first()
        created = user is None
        if created:
            user = user_model(**{user_model.USERNAME_FIELD: username})
            user.set_unusable_password()
        if email is not None:
            user.email = user_model.objects.normalize_email(email)
        user.is_staff = True
        try:
            if password:
                validate_password(password, user)
                user.set_password(password)
            user.full_clean()
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        user.save()
        return user, created
