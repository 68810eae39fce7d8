"""`medmassage db encrypt | decrypt | rekey`: encryption at rest (SQLCipher,
medmassage/store/crypto.py and store/encryption.py).

Keys are typed at a prompt (twice when set) or kept in the OS keyring (--keyring); there is no
option or environment variable for a key, by design: it would end up in shell history, process
lists and CI logs.
"""

from typing import Annotated

import typer

from medmassage.cli.common import db_path, guard, is_interactive, say, warn
from medmassage.cli.dbcmd import app

KeyringOpt = Annotated[
    bool,
    typer.Option(
        "--keyring",
        help="Keep the key in the OS keyring (needs: pip install keyring), so commands open "
        "the database without asking. If a key is already stored for this database (e.g. with "
        "`keyring set medmassage PATH`), it is used.",
    ),
]

AFTER_ENCRYPT = (
    "note: on SSDs and copy-on-write file systems old blocks can outlive an overwrite, and "
    "backups, exports and documents made before are still plaintext: make a new backup "
    "(medmassage db backup) and delete the old ones"
)
AFTER_REKEY = "note: backups made before still open with the old key"


def _tell(outcome, old: str = "the plaintext file", after: str | None = None) -> None:
    """Warnings, what was copied and what became of the old file, then the outcome's messages.
    `after`: a word on what the old file leaves behind (backups made before)."""
    for note in outcome.warnings:
        warn(note)
    done = outcome.converted
    if done is not None:
        say(f"{done.tables} tables, {done.rows} rows copied and verified in {done.seconds:.1f} s")
        if done.kept is not None:
            say(
                f"{old} was kept as {done.kept} (owner-only, NOT encrypted); delete it once you "
                "are sure"
            )
        elif done.scrubbed:
            say(f"{old} was overwritten with zeros and removed ({', '.join(done.scrubbed)})")
        for note in done.warnings:
            warn(note)
        if after:
            say(after)
    for message in outcome.messages:
        say(message)


@app.command("encrypt")
@guard
def encrypt(
    ctx: typer.Context,
    keyring: KeyringOpt = False,
    keep_plaintext: Annotated[
        bool,
        typer.Option(
            "--keep-plaintext",
            help="Keep the unencrypted file as NAME.plaintext.db instead of overwriting it "
            "with zeros and removing it.",
        ),
    ] = False,
) -> None:
    """Encrypt the database (SQLCipher: AES-256, key stretched with PBKDF2-SHA512).

    The key is typed twice at a prompt. Without it the records cannot be read: keep a copy
    somewhere safe. The encrypted copy is verified before it replaces the file; the plaintext
    file is then overwritten and removed. On an encrypted database, --keyring stores its key.
    """
    from medmassage.store import encryption
    from medmassage.store.db import BUSY_TIMEOUT_S

    outcome = encryption.encrypt(
        db_path(ctx), use_keyring=keyring, keep_plaintext=keep_plaintext, timeout=BUSY_TIMEOUT_S
    )
    if outcome.converted is not None:
        say(f"encrypted {outcome.converted.path}; every command now needs its key")
    _tell(outcome, after=None if keep_plaintext else AFTER_ENCRYPT)


@app.command("decrypt")
@guard
def decrypt(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Write the database back unencrypted (asks first), and forget its key in the OS keyring."""
    from medmassage.errors import InputError
    from medmassage.store import encryption
    from medmassage.store.db import BUSY_TIMEOUT_S

    path = db_path(ctx)

    def confirm() -> bool:
        if yes:
            return True
        if not is_interactive():
            raise InputError("--yes", None, "needed to decrypt without a terminal")
        return typer.confirm(
            f"Write {path.name} unencrypted? Anyone who gets the file can then read the records",
            default=False,
            err=True,
        )

    outcome = encryption.decrypt(path, confirm=confirm, timeout=BUSY_TIMEOUT_S)
    if outcome.converted is not None:
        say(f"decrypted {outcome.converted.path}: it is plaintext SQLite again")
    _tell(outcome)


@app.command("rekey")
@guard
def rekey(ctx: typer.Context, keyring: KeyringOpt = False) -> None:
    """Change the key of the encrypted database (the current key, then the new one twice)."""
    from medmassage.store import encryption
    from medmassage.store.db import BUSY_TIMEOUT_S

    outcome = encryption.rekey(db_path(ctx), use_keyring=keyring, timeout=BUSY_TIMEOUT_S)
    if outcome.converted is not None:
        say(f"re-encrypted {outcome.converted.path} with the new key")
    _tell(outcome, old="the file under the old key", after=AFTER_REKEY)
