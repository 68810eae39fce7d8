"""Shell completion for bash, zsh and fish: `medmassage completion SHELL` prints the script.

The script calls `medmassage` back with `_MEDMASSAGE_COMPLETE=<shell>_complete` and the words
typed so far (Click's protocol). `main()` sees that variable before anything else and hands over
to `complete()`, which builds the whole command tree, gives the parameters that name records
(client, case, session, technique, region…) their candidates from the practice file, and lets
Click answer. A normal command never comes here, so completion costs it nothing.

The scripts are Click's own with two changes: bash reads each answer with `read -r`, so the
escaped space of a client's name survives (Click's script drops the backslash); and a candidate
ending in `=` (`--technique myofascial-release=`, minutes follow) gets no trailing space.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

COMPLETE_VAR = "_MEDMASSAGE_COMPLETE"
SHELLS = ("bash", "zsh", "fish")

_BASH = """\
_medmassage_completion() {
    local IFS=$'\\n'
    local response

    response=$(env COMP_WORDS="${COMP_WORDS[*]}" COMP_CWORD=$COMP_CWORD \
_MEDMASSAGE_COMPLETE=bash_complete $1)

    for completion in $response; do
        IFS=',' read -r type value <<< "$completion"

        if [[ $type == 'dir' ]]; then
            COMPREPLY=()
            compopt -o dirnames
        elif [[ $type == 'file' ]]; then
            COMPREPLY=()
            compopt -o default
        elif [[ $type == 'plain' ]]; then
            COMPREPLY+=($value)
            [[ $value == *= ]] && compopt -o nospace
        fi
    done

    return 0
}

complete -o nosort -F _medmassage_completion medmassage
"""

_ZSH = """\
#compdef medmassage

_medmassage_completion() {
    local -a completions
    local -a completions_with_descriptions
    local -a response
    (( ! $+commands[medmassage] )) && return 1

    response=("${(@f)$(env COMP_WORDS="${words[*]}" COMP_CWORD=$((CURRENT-1)) \
_MEDMASSAGE_COMPLETE=zsh_complete medmassage)}")

    for type key descr in ${response}; do
        if [[ "$type" == "plain" ]]; then
            if [[ "$key" == *= ]]; then
                compadd -S '' -U -V unsorted -- "$key"
            elif [[ "$descr" == "_" ]]; then
                completions+=("$key")
            else
                completions_with_descriptions+=("$key":"$descr")
            fi
        elif [[ "$type" == "dir" ]]; then
            _path_files -/
        elif [[ "$type" == "file" ]]; then
            _path_files -f
        fi
    done

    if [ -n "$completions_with_descriptions" ]; then
        _describe -V unsorted completions_with_descriptions -U
    fi

    if [ -n "$completions" ]; then
        compadd -U -V unsorted -a completions
    fi
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    _medmassage_completion "$@"
else
    compdef _medmassage_completion medmassage
fi
"""

# fish adds no space after a candidate ending in `=` by itself.
_FISH = """\
function _medmassage_completion;
    set -l response (env _MEDMASSAGE_COMPLETE=fish_complete COMP_WORDS=(commandline -cp) \
COMP_CWORD=(commandline -t) medmassage);

    for completion in $response;
        set -l metadata (string split "," $completion);

        if test $metadata[1] = "dir";
            __fish_complete_directories $metadata[2];
        else if test $metadata[1] = "file";
            __fish_complete_path $metadata[2];
        else if test $metadata[1] = "plain";
            echo $metadata[2];
        end;
    end;
end;

complete --no-files --command medmassage --arguments "(_medmassage_completion)";
"""

SCRIPTS = {"bash": _BASH, "zsh": _ZSH, "fish": _FISH}

_INSTALL = {
    "bash": "medmassage completion bash > ~/.local/share/bash-completion/completions/medmassage",
    "zsh": 'medmassage completion zsh > "${fpath[1]}/_medmassage"  (then: autoload -U compinit; '
    "compinit)",
    "fish": "medmassage completion fish > ~/.config/fish/completions/medmassage.fish",
}


def completion(
    shell: Annotated[
        str, typer.Argument(metavar="SHELL", help="bash, zsh or fish.", show_default=False)
    ],
) -> None:
    """Print the shell completion script for bash, zsh or fish.

    Completes commands, options, client names and ids, case, session and claim ids,
    techniques, regions and payer types. Install it once, e.g.:

      medmassage completion bash > ~/.local/share/bash-completion/completions/medmassage
      medmassage completion zsh > "${fpath[1]}/_medmassage"
      medmassage completion fish > ~/.config/fish/completions/medmassage.fish
    """
    from medmassage.cli.common import fail

    if shell not in SCRIPTS:
        raise fail(f"shell: {shell!r} — one of {', '.join(SHELLS)}", 2)
    sys.stdout.write(SCRIPTS[shell])
    print(f"# install: {_INSTALL[shell]}", file=sys.stderr)


# --- answering the shell ---------------------------------------------------------------------


def _db_path(ctx) -> Path:
    from medmassage.paths import resolve_db_path

    root = ctx.find_root()
    return resolve_db_path(root.params.get("db"))[0]


def _client_on_line(ctx) -> str | None:
    """The client already typed (`summary maria --case <TAB>`). Click leaves ctx.params empty
    when the option being completed still lacks its value, so read the words: the command's
    first argument is the client wherever a command takes one."""
    from typer._click.shell_completion import split_arg_string

    if ctx.params.get("client"):
        return str(ctx.params["client"])
    if not any(p.name == "client" for p in ctx.command.params):
        return None
    words = split_arg_string(os.environ.get("COMP_WORDS", ""))
    if ctx.info_name not in words:
        return None
    after = words[words.index(ctx.info_name) + 1 :]
    # The client is the first argument, or a later one (`session search TEXT CLIENT`).
    arguments = [p.name for p in ctx.command.params if p.param_type_name == "argument"]
    position = arguments.index("client") if "client" in arguments else 0
    positional = [w for w in after if not w.startswith("-")]
    return positional[position] if len(positional) > position else None


def _candidates(kind: str):
    """The `shell_complete` callback for a parameter naming records of `kind`."""
    from typer._click.shell_completion import CompletionItem

    from medmassage.record import completions

    def callback(ctx, param, incomplete: str):
        shell = os.environ.get(COMPLETE_VAR, "").partition("_")[0]
        if kind == "client":
            found = completions.clients(_db_path(ctx), incomplete)
        elif kind == "case":
            found = completions.cases(_db_path(ctx), incomplete, _client_on_line(ctx))
        elif kind == "session":
            drafts_first = ctx.info_name == "sign"
            found = completions.sessions(_db_path(ctx), incomplete, drafts_first)
        elif kind == "claim":
            first = {"print": "draft", "export": "draft", "void": "draft", "create": "submitted"}
            found = completions.claims(_db_path(ctx), incomplete, first.get(ctx.info_name))
        elif kind == "technique":
            found = completions.techniques(_db_path(ctx), incomplete)
        elif kind == "region":
            found = completions.regions(incomplete)
        elif kind == "payer":
            found = completions.payer_types(incomplete)
        elif kind == "condition":
            found = completions.conditions(incomplete)
        elif kind == "template":
            found = completions.templates(_db_path(ctx), incomplete)
        elif kind == "phrase":
            found = completions.phrases(_db_path(ctx), incomplete)
        else:  # fee
            found = completions.fee_codes(incomplete)
        items = []
        for value, help_text in found:
            if shell == "bash":  # bash inserts the text as typed: a name's space must be escaped
                value = value.replace("\\", "\\\\").replace(" ", "\\ ").replace("'", "\\'")
            items.append(CompletionItem(value, help=help_text or None))
        return items

    return callback


# Parameter name → what it names. Names are the same across commands (tests check that every
# `client` parameter completes clients), so one table covers the whole tree.
KINDS = {
    "client": "client",
    "case": "case",
    "session": "session",
    "sessions": "session",
    "technique": "technique",
    "region": "region",
    "area": "region",
    "payer": "payer",
    "condition": "condition",
    "fee": "fee",
    "template": "template",
    "phrase": "phrase",
    "claim": "claim",
    "claims": "claim",
    "replaces": "claim",
}


def _attach(command, ctx) -> None:
    for param in command.params:
        kind = KINDS.get(param.name or "")
        if kind is not None:
            param._custom_shell_complete = _candidates(kind)
    if hasattr(command, "list_commands"):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None:
                _attach(sub, ctx)


def _shell_classes():
    """Click's bash, zsh and fish protocols (the scripts above speak them), on Typer's copy of
    Click: Typer ≥ 0.24 carries its own Click (typer._click) and ships only its own protocol."""
    from typer._click.shell_completion import ShellComplete, split_arg_string

    class _Words(ShellComplete):
        def source_vars(self) -> dict:
            return {}

        def get_completion_args(self) -> tuple[list[str], str]:
            words = split_arg_string(os.environ["COMP_WORDS"])
            current = int(os.environ["COMP_CWORD"])
            return words[1:current], words[current] if current < len(words) else ""

    class Bash(_Words):
        def format_completion(self, item) -> str:
            return f"{item.type},{item.value}"

    class Zsh(_Words):
        def format_completion(self, item) -> str:
            help_text = item.help or "_"
            value = item.value.replace(":", r"\:") if help_text != "_" else item.value
            return f"{item.type}\n{value}\n{help_text}"

    class Fish(_Words):
        def get_completion_args(self) -> tuple[list[str], str]:
            words = split_arg_string(os.environ["COMP_WORDS"])
            typed = os.environ["COMP_CWORD"]
            typed = split_arg_string(typed)[0] if typed else ""
            args = words[1:]
            if typed and args and args[-1] == typed:  # fish sends the partial word twice
                args.pop()
            return args, typed

        def format_completion(self, item) -> str:
            if item.help:
                help_text = item.help.replace("\n", " ").replace("\t", " ")
                return f"{item.type},{item.value}\t{help_text}"
            return f"{item.type},{item.value}"

    return {"bash": Bash, "zsh": Zsh, "fish": Fish}


def complete(instruction: str) -> int:
    """Answer one completion request from the shell scripts above. Never raises: a half-typed
    line must not print a traceback into the prompt."""
    shell, _, action = instruction.partition("_")
    if shell not in SHELLS or action != "complete":
        return 1
    try:
        import typer.main
        from typer._click import Context

        from medmassage.cli import _command_path, build_app

        protocol = _shell_classes()[shell]
        args, typed = protocol(None, {}, "medmassage", COMPLETE_VAR).get_completion_args()
        # Only the command being typed is built (as for a normal run: about half the time);
        # its words must be complete, so `session l<TAB>` still builds all of `session`.
        cli = typer.main.get_command(build_app(*_command_path(args)))
        _attach(cli, Context(cli))
        comp = protocol(cli, {}, "medmassage", COMPLETE_VAR)
        answer = "\n".join(comp.format_completion(i) for i in comp.get_completions(args, typed))
    except Exception:
        return 1
    sys.stdout.write(answer + "\n")
    return 0
