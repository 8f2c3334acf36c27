"""Who wrote a commit: the three kinds of author (people, AI agents, automation) and the rules
that turn a commit's author, trailers and footers into ``first_author``, ``ai_share`` and the
class of its lines.

Identities are recognised **exactly**, never by a word inside a name or an address: every
employee of an AI lab has the lab's domain (``sam@openai.com``), and people are called Devin,
Jules or Claude. An identity list entry is one of

* ``Name <email>`` or ``email``: that email, compared case-insensitively;
* ``login[bot]`` or ``github:login``: that GitHub account, whether it appears as the author's
  name (``claude[bot]``) or in GitHub's no-reply address (``<id>+login@users.noreply.github.com``);
* anything else: that exact name (case-insensitive), e.g. ``LabBot``.

A commit's class, first matching row wins:

======================================================  =============  ============  ========
the commit                                              lines          first_author  ai_share
======================================================  =============  ============  ========
author is an automation account                         automation     automation    0.0
author is an AI agent, or a ``Generated-by:`` trailer   ai_authored    ai            1.0
``Co-authored-by:`` an AI agent, or an agent's footer   ai_coauthored  ai            0.5
``Assisted-by:`` trailer                                ai_assisted    human         0.25
none of these                                           human          human         0.0
======================================================  =============  ============  ========

Automation (CI, dependency updaters, release and code-generation bots) is neither a person
nor AI: it is left out of the authorship denominators and of the people counted for k, and
reported as a count of its own. A GitHub App account (``…[bot]``) that is on neither list is
automation: it is certainly not a person, and calling an unknown bot AI would inflate the
figure. Labs add their own agents and bots in ``autoscope.toml`` (``[git]`` ``extra_ai_agents``,
``extra_automation``; ``ai_agents``/``automation`` replace the lists).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterable
from typing import Any, Literal

from autoscope.agents.config import read_config_file

logger = logging.getLogger("autoscope.agents")

AuthorClass = Literal["person", "ai_agent", "automation"]
LineClass = Literal["automation", "ai_authored", "ai_coauthored", "ai_assisted", "human"]

# Each default identity is one that the agent or bot really writes; where it was seen is noted
# (repository and an abbreviated commit of a public repository, or the tool's documentation).
DEFAULT_AI_AGENTS: tuple[str, ...] = (
    # Claude Code's commit trailer "Co-Authored-By: Claude <noreply@anthropic.com>", also with
    # the model's name ("Claude Opus 4.6 (1M context) <noreply@anthropic.com>"); as author in
    # anthropics/claude-code (e.g. "Claude <noreply@anthropic.com>", 5 commits since 2025-10).
    "noreply@anthropic.com",
    # Claude's GitHub App (claude-code-action): anthropics/claude-code ba49573f,
    # anthropics/anthropic-sdk-python d2bad4fc.
    "claude[bot]",
    # Claude as a GitHub coding agent: google-gemini/gemini-cli a719f446ce
    # ("anthropic-code-agent[bot] <242468646+Claude@users.noreply.github.com>").
    "anthropic-code-agent[bot]",
    # GitHub Copilot coding agent, "copilot-swe-agent[bot] <198982749+Copilot@users.noreply.
    # github.com>" (anthropics/claude-code c1c3231a, gemini-cli b81423537a), and Copilot's
    # co-author trailer "Copilot <175728472+Copilot@users.noreply.github.com>" (gemini-cli
    # 95c2bc73ea): the GitHub account "Copilot" is GitHub's own bot account.
    "copilot-swe-agent[bot]",
    "github:Copilot",
    # Copilot Autofix ("Copilot Autofix powered by AI <62310815+github-advanced-security[bot]
    # @users.noreply.github.com>"), gemini-cli e6c98b8910.
    "github-advanced-security[bot]",
    # OpenAI Codex: "Codex <codex@openai.com>" (gemini-cli 320e9bb1f3, claude-code 7e6b7880);
    # Codex cloud's GitHub App chatgpt-codex-connector[bot] (named in issue 13).
    "codex@openai.com",
    "chatgpt-codex-connector[bot]",
    # Devin's GitHub App (named in issue 13; Devin opens its PRs as devin-ai-integration[bot]).
    "devin-ai-integration[bot]",
    # Google Jules: "google-labs-jules[bot] <161369871+google-labs-jules[bot]@users.noreply.
    # github.com>", claude-code a706774a, gemini-cli d6e648f2d7.
    "google-labs-jules[bot]",
    # Gemini: gemini-cli[bot] authors fixes in google-gemini/gemini-cli (d744945ff4), and
    # gemini-code-assist[bot] co-authors the review suggestions people apply (ea6fd3a685).
    "gemini-cli[bot]",
    "gemini-code-assist[bot]",
    # Cursor's agent: "Cursor Agent <cursoragent@cursor.com>" (gemini-cli 22a6caf4d2) and
    # "Co-authored-by: Cursor <cursoragent@cursor.com>" (claude-code 795cd136).
    "cursoragent@cursor.com",
    # Windsurf's agent: "Cascade <cascade@windsurf.ai>", gemini-cli efa2b312e7.
    "cascade@windsurf.ai",
    # CodeRabbit's applied review suggestions: coderabbitai[bot] co-author, gemini-cli 8cdb66e0cb.
    "coderabbitai[bot]",
)

DEFAULT_AUTOMATION: tuple[str, ...] = (
    # GitHub Actions' default commit identity: "GitHub Actions <actions@github.com>"
    # (anthropics/claude-code 5cfc0a19: 311 of its 416 non-merge commits since 2025-10-01).
    "actions@github.com",
    # github-actions[bot] (claude-code a4129b84), dependabot[bot] (claude-code be5a7625),
    # Renovate (renovate[bot], named in issue 13), release-please and pre-commit.ci.
    "github-actions[bot]",
    "dependabot[bot]",
    "renovate[bot]",
    "release-please[bot]",
    "pre-commit-ci[bot]",
    # semantic-release's default committer "semantic-release-bot <semantic-release-bot@martynus.net>".
    "semantic-release-bot@martynus.net",
    # Stainless SDK generation (anthropics/anthropic-sdk-python e331230d: 246 of 328 commits
    # since 2025-10-01) and Gemini CLI's release robot (gemini-cli f9768e6737).
    "stainless-app[bot]",
    "gemini-cli-robot@google.com",
)

#: lines in a commit message (not trailers) that agents add when they wrote the change with a
#: person: Claude Code's "🤖 Generated with [Claude Code](https://claude.com/claude-code)"
#: (anthropics/claude-code add6f9cc, anthropic-sdk-python 8e854bcc). Regular expressions,
#: matched against whole lines.
DEFAULT_AGENT_FOOTERS: tuple[str, ...] = (r".*Generated with \[Claude Code\]\(https://claude\.(ai|com)/.*",)

_NOREPLY = re.compile(r"^(?:\d+\+)?(?P<login>[^@]+)@users\.noreply\.github\.com$", re.IGNORECASE)
_NAME_EMAIL = re.compile(r"^\s*(?P<name>.*?)\s*<(?P<email>[^<>]*)>\s*$")


def parse_identity(text: str) -> tuple[str, str]:
    """(name, email) of ``Name <email>``; a bare email or name fills one of them."""
    match = _NAME_EMAIL.match(text)
    if match:
        return match["name"], match["email"].strip()
    text = text.strip()
    return ("", text) if "@" in text and " " not in text else (text, "")


def identity_keys(name: str, email: str) -> set[str]:
    """The keys an identity is known by: ``email:…``, ``name:…`` and ``github:…`` (lower case)."""
    keys = set()
    if email:
        keys.add(f"email:{email.lower()}")
        noreply = _NOREPLY.match(email)
        if noreply:
            keys.add(f"github:{noreply['login'].lower()}")
    if name:
        keys.add(f"name:{name.strip().lower()}")
        if name.strip().lower().endswith("[bot]"):
            keys.add(f"github:{name.strip().lower()}")
    return keys


def entry_key(entry: str) -> str:
    """The one key a list entry matches (see the module's docstring for the forms)."""
    entry = entry.strip()
    if entry.lower().startswith("github:"):
        return f"github:{entry[7:].strip().lower()}"
    if entry.lower().endswith("[bot]") and "<" not in entry:
        return f"github:{entry.lower()}"
    name, email = parse_identity(entry)
    if email:
        return f"email:{email.lower()}"
    if not name:
        raise ValueError(f"empty identity {entry!r}")
    return f"name:{name.lower()}"


@dataclasses.dataclass(frozen=True)
class IdentityList:
    """A set of exact identities (see :func:`entry_key`), keeping the entries for explanations."""

    entries: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_keys", {entry_key(e): e for e in self.entries})

    def match(self, name: str, email: str) -> str | None:
        """The entry ``name <email>`` matches, or None."""
        keys: dict[str, str] = self._keys  # type: ignore[attr-defined]
        for key in sorted(identity_keys(name, email)):
            if key in keys:
                return keys[key]
        return None


@dataclasses.dataclass(frozen=True)
class IdentityVerdict:
    """The class of one identity and the rule that decided it."""

    identity: str
    author_class: AuthorClass
    rule: str


@dataclasses.dataclass(frozen=True)
class Classification:
    """What the rules say about one commit."""

    first_author: Literal["ai", "human", "automation"]
    ai_share: float
    line_class: LineClass
    rule: str
    identities: tuple[tuple[str, IdentityVerdict], ...]  # (role: author/co-author, verdict)


@dataclasses.dataclass(frozen=True)
class AuthorshipRules:
    """How a commit's author, trailers and footers decide its class (module docstring)."""

    ai_agents: IdentityList = IdentityList(DEFAULT_AI_AGENTS)
    automation: IdentityList = IdentityList(DEFAULT_AUTOMATION)
    agent_footers: tuple[str, ...] = DEFAULT_AGENT_FOOTERS
    generated_trailers: tuple[str, ...] = ("generated-by",)
    coauthor_trailers: tuple[str, ...] = ("co-authored-by",)
    assisted_trailers: tuple[str, ...] = ("assisted-by",)
    coauthor_first_author: str = "ai"
    generated_share: float = 1.0
    coauthored_share: float = 0.5
    assisted_share: float = 0.25

    def identity(self, text: str) -> IdentityVerdict:
        """The class of ``Name <email>``: AI agent, automation or person, and why."""
        name, email = parse_identity(text)
        agent = self.ai_agents.match(name, email)
        if agent is not None:
            return IdentityVerdict(text, "ai_agent", f"AI agent {agent!r}")
        bot = self.automation.match(name, email)
        if bot is not None:
            return IdentityVerdict(text, "automation", f"automation {bot!r}")
        if any(k.startswith("github:") and k.endswith("[bot]") for k in identity_keys(name, email)):
            return IdentityVerdict(text, "automation", "a GitHub App ([bot]) on neither list")
        return IdentityVerdict(text, "person", "on neither list")

    def is_agent(self, text: str) -> bool:
        return self.identity(text).author_class == "ai_agent"

    def classify(self, author: str, trailers: Iterable[tuple[str, str]], message: str = "") -> Classification:
        """The :class:`Classification` of a commit by ``author`` ("Name <email>")."""
        keys = [(key.strip().lower(), value.strip()) for key, value in trailers]
        verdict = self.identity(author)
        coauthors = [self.identity(v) for k, v in keys if k in self.coauthor_trailers]
        seen = (("author", verdict), *(("co-author", c) for c in coauthors))
        if verdict.author_class == "automation":
            return Classification("automation", 0.0, "automation", f"author: {verdict.rule}", seen)
        if verdict.author_class == "ai_agent":
            return Classification("ai", self.generated_share, "ai_authored", f"author: {verdict.rule}", seen)
        generated = [v for k, v in keys if k in self.generated_trailers]
        if generated:
            return Classification("ai", self.generated_share, "ai_authored", f"Generated-by: {generated[0]}", seen)
        agents = [c for c in coauthors if c.author_class == "ai_agent"]
        first = "ai" if self.coauthor_first_author == "ai" else "human"
        if agents:
            return Classification(
                first, self.coauthored_share, "ai_coauthored", f"Co-authored-by {agents[0].rule}", seen
            )
        footer = self.agent_footer(message)
        if footer:
            return Classification(first, self.coauthored_share, "ai_coauthored", f"footer {footer!r}", seen)
        assisted = [v for k, v in keys if k in self.assisted_trailers]
        if assisted:
            return Classification("human", self.assisted_share, "ai_assisted", f"Assisted-by: {assisted[0]}", seen)
        return Classification("human", 0.0, "human", "no AI author, co-author, trailer or footer", seen)

    def agent_footer(self, message: str) -> str | None:
        for line in message.splitlines():
            for pattern in self.agent_footers:
                if re.fullmatch(pattern, line.strip()):
                    return line.strip()
        return None


def _identity_list(data: dict[str, Any], name: str, default: tuple[str, ...]) -> IdentityList:
    entries = list(data.pop(name, default)) + list(data.pop(f"extra_{name}", ()))
    for entry in entries:
        if not isinstance(entry, str):
            raise TypeError(f"[git] {name}: {entry!r} is not a string")
        entry_key(entry)  # an empty entry is a configuration error worth raising
    return IdentityList(tuple(entries))


def load_rules(overrides: dict[str, Any] | None = None) -> AuthorshipRules:
    """The rules of ``autoscope.toml``'s ``[git]`` table (``ai_agents``/``automation`` replace
    the lists, ``extra_ai_agents``/``extra_automation`` extend them), then ``overrides``.
    Bad identities and footers raise ValueError or TypeError; other bad values are logged and ignored."""
    section = read_config_file().get("git", {})
    data = {**(section if isinstance(section, dict) else {}), **(overrides or {})}
    for key in ("team_paths", "team_authors", "team_map", "default_branch"):
        data.pop(key, None)  # read by git_teams and git_hooks
    values: dict[str, Any] = {
        "ai_agents": _identity_list(data, "ai_agents", DEFAULT_AI_AGENTS),
        "automation": _identity_list(data, "automation", DEFAULT_AUTOMATION),
    }
    footers = tuple(str(f) for f in data.pop("agent_footers", DEFAULT_AGENT_FOOTERS)) + tuple(
        str(f) for f in data.pop("extra_agent_footers", ())
    )
    for pattern in footers:
        re.compile(pattern)
    values["agent_footers"] = footers
    fields = {f.name: f for f in dataclasses.fields(AuthorshipRules)}
    for name, value in data.items():
        if name not in fields:
            logger.warning("autoscope: ignoring unknown [git] setting %s", name)
            continue
        default = fields[name].default
        try:
            if isinstance(default, tuple):
                values[name] = tuple(str(v).lower() for v in value)
            elif isinstance(default, float):
                share = float(value)
                if not 0.0 <= share <= 1.0:
                    raise ValueError("must be within 0..1")
                values[name] = share
            elif name == "coauthor_first_author":
                if value not in ("ai", "human"):
                    raise ValueError("must be ai or human")
                values[name] = value
        except (TypeError, ValueError) as exc:
            logger.warning("autoscope: ignoring [git] %s=%r: %s", name, value, exc)
    return AuthorshipRules(**values)
