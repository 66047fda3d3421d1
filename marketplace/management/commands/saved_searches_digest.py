from core.outage import DatabaseCommand
from marketplace.services import saved_searches_digest_run


class Command(DatabaseCommand):
    help = (
        "Email each member whose daily saved-search digest is due the listings new since the "
        "last one (safe to run often: at most one email per member a day)."
    )

    def handle(self, *args, **options) -> None:
        run = saved_searches_digest_run()
        self.stdout.write(
            f"Saved-search digests: {run.due} member(s) due, {run.sent} email(s) sent, "
            f"{run.failed} failed."
        )
