"""The facts-only reviewer (SPEC §5): measured quality, exact offsets, the rules file, the prompts."""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vault import guidance
from vault.errors import InvalidInput
from vault.guidance import JUDGEMENTAL, LEADING_QUESTION, OPINION, review

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def _load_eval():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("guidance_eval", ROOT / "scripts" / "guidance_eval.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["guidance_eval"] = module
    spec.loader.exec_module(module)
    return module


EVAL = _load_eval()
DEVELOPMENT_SETS = ("guidance_labelled.toml", "guidance_labelled_b.toml")
HELD_OUT = "guidance_heldout.toml"  # set C: held out until issue 16 rebuilt the rules; a development set since
RUSHED_SETS = ("guidance_dev_d1.toml", "guidance_dev_d2.toml")  # issue 16: hurried, real-world voices
# Set E: written blind, held out until its one measurement once the issue-16 rules froze (381e3ed);
# a development set since, held to the issue's targets like D1 and D2. Its recall then stays a floor.
SET_E = "guidance_heldout_e.toml"
SET_E_FIRST_RECALL: dict[str, float] = {LEADING_QUESTION: 0.964, OPINION: 0.851, JUDGEMENTAL: 0.866}
# Set F: written blind after the rules froze at f92ef31, held out until its one measurement there;
# a development set since, held to the issue's targets like D1, D2 and E. Its first figures
# (leading 74/77 with 1/70 neutral questions flagged, opinion 67/72 with 3/99 facts flagged,
# judgemental 54/73 with none) stay as floors.
SET_F = "guidance_heldout_f.toml"
SET_F_FIRST_RECALL: dict[str, float] = {LEADING_QUESTION: 0.961, OPINION: 0.930, JUDGEMENTAL: 0.739}
ISSUE_16_SETS = {  # name: (at least this many cases, at least this many quoted spans)
    "guidance_dev_d1.toml": (520, 40), "guidance_dev_d2.toml": (520, 40), SET_E: (300, 30), SET_F: (300, 30)}
# Set G: to be written after the rules froze again, by someone who has seen neither them nor any
# other set; never tuned to. Skipped while absent. Its floors are its first measurement, recorded
# here by the lead once it is measured (recall: no lower; false flags: no higher); until then it
# is held to being well formed and to nothing flagged in quoted speech.
HELD_OUT_G = "guidance_heldout_g.toml"
# Set G's first measurement (2026-11-30, rules frozen at 20e1e47; 41c7d97 moved code, not a finding):
# leading 83/89 but 7/70 neutral questions flagged (the issue's bar is 3%: README), opinion 69/80 with
# 4/98 facts flagged, judgemental 74/97 (below the issue's 0.85) with none. Floors and ceilings;
# never to be tuned to.
HELD_OUT_G_FLOORS: dict[str, float] | None = {LEADING_QUESTION: 0.932, OPINION: 0.862, JUDGEMENTAL: 0.762}
HELD_OUT_G_FALSE_FLAGS: dict[str, float] | None = {LEADING_QUESTION: 0.1, OPINION: 0.05, JUDGEMENTAL: 0.05}
GROUPS = {"leading", "open", "neutral", "opinion", "judgemental", "fact", "quoted", "hard_negative", "mixed"}


def _kinds(text: str) -> set[str]:
    return {f.kind for f in review(text)}


# --- the labelled sets and the quality bar (the issue's thresholds) ---------------------------


@pytest.mark.parametrize("name", [*DEVELOPMENT_SETS, HELD_OUT, *RUSHED_SETS, SET_E, SET_F, HELD_OUT_G])
def test_a_labelled_set_is_well_formed(name: str) -> None:
    if not (HERE / name).exists():
        pytest.skip(f"{name} is not written yet")
    cases = EVAL.load(HERE / name)
    assert len(cases) >= 300
    assert {c["group"] for c in cases} == GROUPS
    assert len({c["text"] for c in cases}) == len(cases), "no case twice"
    for case in cases:
        assert set(case["expect"]) <= set(guidance.KINDS)
        for quoted in case.get("quoted", []):
            assert quoted in case["text"]


@pytest.mark.parametrize("name", DEVELOPMENT_SETS)
def test_the_reviewer_meets_the_quality_bar_on_the_development_sets(name: str) -> None:
    figures = EVAL.evaluate(EVAL.load(HERE / name))
    leading, opinion, judgemental = (figures.kinds[k] for k in (LEADING_QUESTION, OPINION, JUDGEMENTAL))
    report = EVAL.table(name, figures)
    assert leading.recall >= 0.95 and leading.false_flag_rate <= 0.03, report
    assert opinion.recall >= 0.90 and opinion.false_flag_rate <= 0.05, report
    assert judgemental.recall >= 0.90 and judgemental.false_flag_rate <= 0.05, report
    assert figures.quoted_spans >= 40 and figures.quoted_flags == 0, report


def test_the_held_out_set_keeps_its_measured_figures() -> None:
    """Set C was written after the rules of the time were final; issue 16 rebuilt the rules with
    it as a development set. Its false-flag and quoted-speech bars are the issue's; its recall
    floors are the figures first measured while it was held out (stated in the README)."""
    figures = EVAL.evaluate(EVAL.load(HERE / HELD_OUT))
    leading, opinion, judgemental = (figures.kinds[k] for k in (LEADING_QUESTION, OPINION, JUDGEMENTAL))
    report = EVAL.table(HELD_OUT, figures)
    assert leading.recall >= 0.96 and leading.false_flag_rate <= 0.03, report
    assert opinion.recall >= 0.89 and opinion.false_flag_rate <= 0.05, report
    assert judgemental.recall >= 0.73 and judgemental.false_flag_rate <= 0.05, report
    assert figures.quoted_flags == 0, report


@pytest.mark.parametrize("name", list(ISSUE_16_SETS))
def test_the_reviewer_meets_the_issue_16_targets_on_rushed_writing(name: str) -> None:
    """Sets D1, D2, E and F (issue 16): leading-question recall >= 0.90 with <= 3% of open or neutral
    questions flagged; opinion and judgemental recall >= 0.85 with <= 5% of factual sentences
    flagged; nothing flagged inside the person's quoted words."""
    figures = EVAL.evaluate(EVAL.load(HERE / name))
    leading, opinion, judgemental = (figures.kinds[k] for k in (LEADING_QUESTION, OPINION, JUDGEMENTAL))
    report = EVAL.table(name, figures)
    min_cases, min_quoted = ISSUE_16_SETS[name]
    assert figures.cases >= min_cases, report
    assert leading.recall >= 0.90 and leading.false_flag_rate <= 0.03, report
    assert opinion.recall >= 0.85 and opinion.false_flag_rate <= 0.05, report
    assert judgemental.recall >= 0.85 and judgemental.false_flag_rate <= 0.05, report
    assert figures.quoted_spans >= min_quoted and figures.quoted_flags == 0, report


@pytest.mark.parametrize("name, first", [(SET_E, SET_E_FIRST_RECALL), (SET_F, SET_F_FIRST_RECALL)])
def test_a_former_held_out_set_finds_no_less_than_when_it_was_held_out(name: str, first: dict[str, float]) -> None:
    """Sets E and F: the recall at their one held-out measurement (rules frozen at 381e3ed and
    f92ef31) stays a floor."""
    figures = EVAL.evaluate(EVAL.load(HERE / name))
    for kind, floor in first.items():
        assert figures.kinds[kind].recall >= floor, EVAL.table(name, figures)


def test_the_held_out_set_g_keeps_its_first_measurement() -> None:
    """Set G is written by someone who has seen neither the rules nor the other sets, and first
    measured once the rules are frozen; it is never tuned against. A change to the rules that
    finds less of it, or flags more of its neutral questions or facts, fails here."""
    if not (HERE / HELD_OUT_G).exists():
        pytest.skip("the held-out set G is not written yet")
    figures = EVAL.evaluate(EVAL.load(HERE / HELD_OUT_G))
    report = EVAL.table(HELD_OUT_G, figures)
    assert figures.cases >= 300, report
    assert figures.quoted_flags == 0, report
    for kind, floor in (HELD_OUT_G_FLOORS or {}).items():
        assert figures.kinds[kind].recall >= floor, report
    for kind, ceiling in (HELD_OUT_G_FALSE_FLAGS or {}).items():
        assert figures.kinds[kind].false_flag_rate <= ceiling, report


def test_the_evaluation_lists_the_held_out_set_first() -> None:
    assert EVAL.SETS[:3] == (EVAL.HELD_OUT_G, EVAL.SET_F, EVAL.SET_E)
    assert (EVAL.HELD_OUT_G.name, EVAL.SET_F.name, EVAL.SET_E.name) == (HELD_OUT_G, SET_F, SET_E)


def test_the_evaluation_counts_what_it_says() -> None:
    """The measuring code, on a tiny set whose figures are known."""
    cases = [
        {"group": "leading", "text": "Did your dad hit you?", "expect": ["leading_question"]},
        {"group": "leading", "text": "What happened?", "expect": ["leading_question"]},  # mislabelled: a miss
        {"group": "open", "text": "Was it your uncle?", "expect": []},  # mislabelled: a false flag
        {"group": "fact", "text": "She said \"he is a liar\".", "expect": [], "quoted": ["he is a liar"]},
    ]
    figures = EVAL.evaluate(cases)
    leading = figures.kinds[LEADING_QUESTION]
    assert (leading.expected, leading.hits, leading.flagged) == (2, 1, 2)
    assert leading.recall == 0.5 and leading.precision == 0.5
    assert (leading.negatives, leading.false_flags) == (1, 1)
    assert (figures.quoted_spans, figures.quoted_flags) == (1, 0)
    assert len(figures.errors) == 2


# --- what the issue names, one by one -------------------------------------------------------


@pytest.mark.parametrize("text", [
    "Did your dad hit you?",
    "Was it your uncle?",
    "He hurt you, didn't he?",
    "Were you scared of him?",
    "I asked him 'Did your dad hit you?'",
    "I asked her, \u201cWas it your boyfriend?\u201d",
    "I asked whether her stepfather had hurt her.",
    "Can you tell me if your dad hurts you?",
])
def test_leading_questions_are_flagged(text: str) -> None:
    assert _kinds(text) == {LEADING_QUESTION}


@pytest.mark.parametrize("text", [
    "What happened next?", "Where were you?", "When was that?", "Who was there?", "How did you get home?",
    "Tell me what happened.", "Explain what you mean.", "Describe the room.",
    "Have you told anyone else?", "Is there anything else you want to tell me?", "Do you want a break?",
    "Are you safe to go home tonight?", "I asked her what happened next.", "I asked if she wanted a break.",
])
def test_open_questions_and_neutral_checks_are_not(text: str) -> None:
    assert review(text) == []


@pytest.mark.parametrize("text", [
    # the writer asks leave or offers, whoever it names
    "can i share this with your social worker?", "Shall we ring your nan to come and get you?",
    # someone or somewhere there for them now
    "is there someone we can call for you", "asked if theres anyone she trusts at home",
    "Is there anybody in your family you'd feel ok talking to?",
    # what they have now, the tense shifted back when reported
    "asked whether shes got credit on her phone to ring us back", "have you got a charger for your phone?",
    "asked if she had the number for childline",
    # what they understand of the process, or of what the writer must do
    "asked if he knew what a referral to MASH means", "asked yp did he understand that i cant keep it a secret",
    "Do you understand why I have to tell my manager?",
    # a check that holds an injury word; an open question typed without the apostrophe
    "are you in any pain right now", "whats been going on for you?", "wheres your key worker today?",
])
def test_neutral_checks_that_name_a_person_or_a_detail_are_not_flagged(text: str) -> None:
    assert review(text) == []


@pytest.mark.parametrize("text", [
    "did he have a knife on him?", "has he got a key to your flat?", "asked if he got jumped on the way home",
    "was there someone in the room with you?", "is there someone hurting you at home?",
    "could I ask whether your uncle hit you", "do you understand that he should not have touched you?",
    "are you in any pain from where he kicked you?", "asked if she knew her uncle was staying over",
    "has she been hitting you?", "was it your uncle who did this?",
])
def test_questions_about_what_happened_stay_leading_beside_the_checks(text: str) -> None:
    assert _kinds(text) == {LEADING_QUESTION}


@pytest.mark.parametrize("text", [
    "He was probably drunk.", "I think she is being neglected.", "She seems frightened of him.",
    "He must have been hit with something.", "The injury appeared to be a burn.", "It is likely to happen again.",
])
def test_opinion_is_flagged(text: str) -> None:
    assert _kinds(text) == {OPINION}


@pytest.mark.parametrize("text, hedge", [
    ("the older lads have been round again i'd say", "i'd say"),  # a hedge that ends the writer's sentence…
    ("she said she was fine, has to be", "has to be"),  # …is the writer's even after what someone said
    ("he's not telling us everything i feel.", "i feel"),
    ("wd say he knew about it", "wd say"), ("shd think she's been there before", "shd think"),
    ("not sure he was being straight with us", "not sure he"), ("sure they were using", "sure they"),
    ("its clear to me nobody has been in", "its clear to me"),
    ("she'll have been warned off by them", "she'll have been"),
])
def test_hedges_in_more_places_are_opinion(text: str, hedge: str) -> None:
    assert [(f.kind, text[f.start:f.end]) for f in review(text) if f.kind == OPINION][:1] == [(OPINION, hedge)]


@pytest.mark.parametrize("text", [
    "she said she didnt know what to think.", "she'll have contact on saturday", "make sure he takes his meds",
    "sure enough he came back", "not sure where she went", "we should think about moving her room",
    "the fire exit was clearly locked", "the cabinet was clearly shut", 'She said "i think so, i reckon"',
    "he told me it has to be", "she asked me what i think",
])
def test_words_like_those_hedges_are_not(text: str) -> None:
    assert OPINION not in _kinds(text)


@pytest.mark.parametrize("text", [
    "She is a liar.", "He is attention seeking.", "Mum is manipulative.", "They are a problem family.",
    "She is a drama queen.", "The girl is promiscuous.",
])
def test_judgemental_labels_are_flagged(text: str) -> None:
    assert _kinds(text) == {JUDGEMENTAL}


@pytest.mark.parametrize("text", [
    "She said she was frightened.",
    "She said she thinks her dad is probably angry.",
    "Her stepdad calls her a liar.",
    "She said, \"My mum says I'm a liar and attention seeking.\"",
    "He said 'I think it must have been him'.",
    "She asked me, \u201cDid I do something bad? Was it my fault?\u201d",
    "She was lying on the sofa when I arrived.",
    "Someone had written the word liar on her bag.",
    "Her name appeared twice on the visitor log.",
    "The number was clearly displayed on the poster.",
])
def test_facts_reported_speech_and_quotations_are_not_flagged(text: str) -> None:
    assert review(text) == []


def test_a_writers_new_clause_after_reported_speech_is_theirs_again() -> None:
    text = "She said she was scared, and I think she was telling the truth."
    [finding] = review(text)
    assert finding.kind == OPINION and text[finding.start:finding.end] == "I think"


def test_each_finding_has_a_plain_message_and_an_open_alternative() -> None:
    findings = review("Did your dad hit you? He is probably lying. She is a drama queen.")
    assert [f.kind for f in findings] == [LEADING_QUESTION, OPINION, JUDGEMENTAL, JUDGEMENTAL]
    for f in findings:
        assert f.message.endswith(".") and len(f.message) < 120
        assert f.suggestion
    assert "Tell me" in findings[0].suggestion
    assert "Your concerns" in findings[1].suggestion


def test_a_finding_never_carries_the_text() -> None:
    canary = "zqxcanary"
    text = f"Did {canary} hit you? {canary} is probably a liar."
    findings = review(text)
    assert findings
    for f in findings:
        assert set(f.to_dict()) == {"kind", "start", "end", "message", "suggestion"}
        assert canary not in repr(f.to_dict())


# --- offsets are exact, for any text (Hypothesis) --------------------------------------------

RISKY = ["Did your dad hit you?", "probably", "I think", "liar", "attention seeking", "seemed", "must have",
         "she's a right", "madam", "are all", "thugs", "think", "reckon", "is being exploited", "didnt he",
         "asked him was", "I asked if", "a bit of a", "difficult", "one of those lads", "by the looks of it",
         "Was it your uncle?", ", didn't he?", "I asked whether he hurt her", "She said", "lying on", "\"", "'",
         "\u201c", "\u201d", "\u2019", "?", ".", "\n", "Mr.", "no.", "\u0130", "\u00df", "é", "\U0001F600"]
texts = st.lists(st.one_of(st.sampled_from(RISKY), st.text(max_size=12)), max_size=30).map(" ".join)


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_findings_lie_inside_the_text_and_point_at_what_they_name(text: str) -> None:
    findings = review(text)
    assert findings == sorted(findings, key=lambda f: (f.start, f.end, f.kind))
    assert review(text) == findings  # deterministic
    for f in findings:
        assert 0 <= f.start < f.end <= len(text)
        span = text[f.start:f.end]
        assert span == span.strip() and span
        if f.kind == LEADING_QUESTION:
            assert any(c.isalpha() for c in span)  # a question typed without "?" is found by its shape
        else:  # the text up to a few words after the span (a hedge needs the word after it) finds it too
            near = review(text[:f.end + 24])  # (cut short, a sentence may turn into a question instead)
            assert any((g.kind, g.start, g.end) == (f.kind, f.start, f.end)
                       or (g.kind == LEADING_QUESTION and g.start <= f.start < g.end) for g in near), (span, near)


@settings(max_examples=200, deadline=None, database=None)
@given(st.sampled_from(["She said", "He told me", "In her words:", "Mum said", ""]),
       st.lists(st.sampled_from(RISKY[:12]), min_size=1, max_size=6).map(" ".join),
       st.sampled_from(["\"{}\"", "\u201c{}\u201d", "'{}'", "\u2018{}\u2019"]),
       st.sampled_from(["", " She cried.", " Then she left."]))
def test_nothing_inside_the_persons_quoted_words_is_flagged(before: str, words: str, marks: str,
                                                            after: str) -> None:
    words = words.replace("'", "").replace("\u2019", "")  # no stray apostrophe may close the quotation
    quoted = marks.format(words)
    text = f"{before} {quoted}.{after}".strip()
    start = text.index(quoted)
    end = start + len(quoted)
    assert [f for f in review(text) if f.start < end and start < f.end] == []


def test_very_long_and_unusual_input_is_fine() -> None:
    sentence = ("She said \u201cI\u2019m scared\u201d. He is probably a liar. Did your dad hit you? "
                "\u0130\u00df\U0001F600 ")
    text = sentence * 20_000  # about 1.4 million characters
    findings = review(text)
    assert len(findings) == 3 * 20_000
    assert all(0 <= f.start < f.end <= len(text) for f in findings)
    assert review("") == [] and review("?" * 10_000) == [] and review("'" * 10_000 + "\"" * 9_999) == []


# --- the rules file ---------------------------------------------------------------------------


def test_the_builtin_rules_file_is_written_for_staff() -> None:
    data = guidance.builtin_data(guidance.RULES_FILE)
    for group in data["opinion"] + data["judgemental"]:
        assert group["message"].endswith(".") and group["suggestion"]
    assert guidance.default_rules() is guidance.default_rules()


def test_an_organisation_can_add_its_own_words(tmp_path: Path) -> None:
    extra = tmp_path / "ours.toml"
    extra.write_text(
        '[[judgemental]]\nmessage = "Our policy: describe, do not label."\nsuggestion = "Describe it."\n'
        'phrases = ["gobshite", "nuisance*"]\n'
        '[leading_question]\nneutral = ["a cup of tea"]\n',
        encoding="utf-8")
    rules = guidance.load_rules(extra)
    text = "He is a nuisance. Would a cup of tea with your dad help?"
    kinds = [(f.kind, text[f.start:f.end]) for f in review(text, rules)]
    assert kinds == [(JUDGEMENTAL, "nuisance")]
    assert review("He is a nuisance.") == []  # the built-in rules are unchanged
    assert [f.message for f in review("He is a liar.", rules)] == [f.message for f in review("He is a liar.")]


@pytest.mark.parametrize("content, fragment", [
    ("not = [toml", "not a valid TOML file"),
    ("[[opinion]]\nmessage = 'x.'\nsuggestion = 'y'\nphrases = []\n", "not valid"),
    ("[[opinion]]\nmessage = 'x.'\nphrases = ['a']\n", "not valid"),
    ("[[judgemental]]\nmessage = 'x.'\nsuggestion = 'y'\nphrases = ['(unclosed']\n", "not valid"),
    ("[leading_question]\nmessage = 'suggests {who}'\n", "not valid"),
    ("opinion = 3\n", "not valid"),
])
def test_a_broken_rules_file_is_one_sentence(tmp_path: Path, content: str, fragment: str) -> None:
    extra = tmp_path / "ours.toml"
    extra.write_text(content, encoding="utf-8")
    with pytest.raises(InvalidInput, match=fragment) as info:
        guidance.load_rules(extra)
    assert "\n" not in str(info.value)


def test_a_missing_rules_file_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="Cannot read the rules file"):
        guidance.load_rules(tmp_path / "nope.toml")


def test_every_phrase_in_the_rules_can_match() -> None:
    """A phrase with a typo that can never match would silently do nothing."""
    data = guidance.builtin_data(guidance.RULES_FILE)
    groups = data["opinion"] + data["judgemental"]
    for group in groups:
        for phrase in group["phrases"]:
            example = " ".join(word.split("|")[0].rstrip("*") for word in phrase.split())
            found = {f.kind for f in review(f"Zed {example} zed.")}
            kind = "opinion" if group in data["opinion"] else "judgemental"
            assert kind in found, phrase


# --- the prompts the writing screen shows ------------------------------------------------------


def test_the_prompts_are_data_the_tui_can_render() -> None:
    prompts = guidance.prompts()
    assert [s.title for s in prompts.sections()] == [
        "Open prompts (TED)", "What not to do", "The limits of confidentiality", "What happens next"]
    starts = {line.split()[0] for line in prompts.open_prompts.lines}
    assert {"Tell", "Explain", "Describe"} <= starts
    assert all(review(line) == [] for line in prompts.open_prompts.lines), "our own prompts are open"
    assert prompts.confidentiality.lines[0].startswith(
        "I'm sorry to interrupt, but if you might be about to tell me something very sensitive")
    assert any("secret" in line for line in prompts.dont.lines)
    assert any("leading questions" in line for line in prompts.dont.lines)
    with (ROOT / "vault" / "data" / guidance.PROMPTS_FILE).open("rb") as f:
        assert tomllib.load(f)  # the file itself is plain TOML
