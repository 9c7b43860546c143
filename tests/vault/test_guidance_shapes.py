"""The facts-only reviewer on rushed, real-world writing (issue 16): closed questions by their
shape, person labels and victim-blaming as shapes, hedges scoped per clause."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from vault import guidance
from vault.errors import InvalidInput
from vault.guidance import JUDGEMENTAL, LEADING_QUESTION, OPINION, review


def _found(text: str) -> list[tuple[str, str]]:
    return [(f.kind, text[f.start:f.end]) for f in review(text)]


def _kinds(text: str) -> set[str]:
    return {f.kind for f in review(text)}


# --- leading questions: structure over word lists ---------------------------------------------


@pytest.mark.parametrize("text, span", [
    ("I asked him was his stepdad there", "was his stepdad there"),
    ("asked her did anyone touch her", "did anyone touch her"),
    ("asked if mum hits, she said no", "if mum hits"),
    ("I put it to her that her dad had done it", "that her dad had done it"),
    ("he took your money didn't he", "he took your money didn't he"),
    ("so it was your uncle?", "so it was your uncle?"),
    ("did they make you carry a bag for them", "did they make you carry a bag for them"),
    ("was he rough with you in the shower", "was he rough with you in the shower"),
    ("did it happen at your aunt's flat?", "did it happen at your aunt's flat?"),
    ("I said 'was it your uncle that touched you' and she shook her head", "was it your uncle that touched you"),
    ("asked res if the carer had been rough with her", "if the carer had been rough with her"),
    ("so he wont let you see your sister then", "so he wont let you see your sister then"),
    ("our kid's been taking your money hasn't he duck", "our kid's been taking your money hasn't he duck"),
])
def test_a_closed_question_the_writer_put_is_leading(text: str, span: str) -> None:
    assert _found(text) == [(LEADING_QUESTION, span)]


@pytest.mark.parametrize("text", [
    "What happened next?", "you went where?", "I asked her what happened.", "Tell me about the party.",
    "asked if she wanted a drink", "asked if she'd like an advocate", "Are you warm enough?",
    "asked him whether he was safe at home, he said yes", "Is it ok if I tell your social worker?",
    "She asked was she in trouble?", "she asked me did I believe her", "Mum asked him if dad hit him",
    "Did not attend.", "Was seen by the GP at 11.", "Had tea and went to bed.", "When did it start?",
    "sw asked him whether his dad had been drinking, he said no",
    "Is your mum picking you up today?", "Does your social worker know you're here?",
    "asked if her dad knows she's here", "Do you want me to call your mum?",
])
def test_open_questions_neutral_checks_and_the_persons_own_questions_are_not(text: str) -> None:
    assert LEADING_QUESTION not in _kinds(text)


def test_a_neutral_word_does_not_cover_what_a_named_relative_knows_or_did() -> None:
    assert _kinds("asked did nan know about it") == {LEADING_QUESTION}
    assert _kinds("Does anyone else know?") == set()


def test_a_question_holds_no_opinion_or_label_of_the_writer() -> None:
    assert _kinds("he's been grooming you hasn't he") == {LEADING_QUESTION}


# --- labels and victim-blaming as shapes ------------------------------------------------------


@pytest.mark.parametrize("text", [
    "he is a bully at the hostel",  # the bug: a label followed by "at …"
    "she's a proper madam", "he's a cocky little toerag", "the lads are all thugs", "a right bunch of chavs",
    "he's one of those lads who thinks he's a gangster", "her type always end up back with him",
    "she hangs round with that lot from the flats", "Mrs H is a difficult, demanding old lady",
    "she's very difficult", "nan is a soft touch", "she's a hoarder and a slob",
    "typical of that estate", "he's a liar at school", "Declan is a bit simple", "his sister is a terrible mother",
])
def test_person_labels_are_judgemental(text: str) -> None:
    assert _kinds(text) == {JUDGEMENTAL}


@pytest.mark.parametrize("text", [
    "she knew what she was getting into", "asking for trouble going back there",
    "should've known better than to get in his car", "she brought this on herself",
    "she keeps going back to him",
])
def test_victim_blaming_is_judgemental(text: str) -> None:
    assert _kinds(text) == {JUDGEMENTAL}


@pytest.mark.parametrize("text", [
    "She is a carer for her mum.", "He is a student at the college.", "It's a long way to the shops.",
    "The lads are all at school today.", "She's easy to talk to and settled quickly.",
    "She is a domestic abuse survivor and attends the group.", "He was a victim of a robbery last year.",
    "She keeps going back to college late after lunch.", "It was a mess in the kitchen after the party.",
    "He told me his stepdad is a drunk and a bully.", "Mum said he's a nightmare at home.",
    "She said \"he's a right nasty piece of work\".", "He was a bit of a hero today.",
    "the pain is terrible", "his leg is bad again", "the form is difficult to read", "the food was awful",
    "That lot of paperwork went to the council on Monday.",
])
def test_descriptions_and_reported_labels_are_not(text: str) -> None:
    assert _kinds(text) == set()


# --- hedges and inference, scoped per clause --------------------------------------------------


@pytest.mark.parametrize("text, span", [
    ("think she's scared of him", "think"),
    ("reckon he's using again", "reckon"),
    ("he said he was at his cousins all weekend, dont think he was", "dont think"),
    ("she said she fell but i reckon someone pushed her", "i reckon"),
    ("she said she fell but probably someone pushed her", "probably"),
    ("by the looks of it she hasnt slept in days", "by the looks of it"),
    ("she says she was at her mates, or so she claims", "or so she claims"),
    ("he is being exploited by the older boys", "being exploited"),
    ("must be the agency staff", "must be the"),
    ("the injuries must of been from the weekend", "must of"),
    ("id guess hes been sleeping rough", "id guess"),
    ("my instinct is that he knows more", "my instinct"),
    ("yp said he's staying at a mate's. probably at the trap house.", "probably"),  # "'s." ends a sentence
])
def test_the_writers_own_hedge_is_opinion(text: str, span: str) -> None:
    assert (OPINION, span) in _found(text)


@pytest.mark.parametrize("text", [
    "She said she thinks her dad is probably angry.", "Police said he is being exploited by a county line.",
    "The social worker believes she is being groomed.", "likely discharge date friday (per ward)",
    "she may have visitors until 8pm as per care plan", "The form must be signed by a manager.",
    "the sign on the office door clearly says no visitors after 9", "The CAMHS letter gives a likely wait of 18 weeks.",
    "She might be moved to another unit next week, the manager said.",
    "Police may have CCTV from the shop, the officer said.",
])
def test_reported_and_attributed_words_are_not_the_writers_opinion(text: str) -> None:
    assert OPINION not in _kinds(text)


# --- labels by shape: no apostrophe, "a bit of a", no verb, groups, lasting labels ---------------


@pytest.mark.parametrize("text, span", [
    ("hes a thug and always has been", "a thug"),  # the copula without its apostrophe
    ("shes a madam", "a madam"),
    ("theyre all scroungers", "scroungers"),
    ("hes rude and disrespectful", "rude"),
    ("nan's a bit simple", "simple"),
    ("dad is a bit of a bully", "a bit of a bully"),
    ("shes a waste of space", "a waste of space"),
    ("a right little madam at tea", "a right little madam"),  # no verb, with "a right", "a proper"…
    ("a sad case tbh", "a sad case"),
    ("lippy yp", "lippy yp"),  # a labelling adjective before a person, no verb
    ("another gobby student", "gobby student"),
    ("difficult res, again", "difficult res"),
    ("typical dodgy landlord", "typical dodgy landlord"),
    ("those lads never listen", "those lads never listen"),  # a group said always or never to…
    ("these mums always moan", "these mums always moan"),
    ("the tenants in flat 4 are obnoxious", "obnoxious"),  # people placed before the verb
    ("shes a grass, always will be", "a grass"),
    ("hes a runner and always has been", "a runner"),  # a label made lasting
    ("the lads are always causing trouble", "always causing trouble"),
    ("mum hasnt got a clue", "hasnt got a clue"),
])
def test_labels_are_found_by_their_shape(text: str, span: str) -> None:
    assert _found(text) == [(JUDGEMENTAL, span)]


@pytest.mark.parametrize("text", [
    "she wishes a nurse had come", "the trip was a waste of time", "the roads on that estate are a nightmare",
    "a real problem with the heating", "a proper meal at 6pm", "a difficult day, mum said",
    "it was a difficult day mum said", "easy student loan form", "simple student question about loans",
    "these residents always get breakfast at 8", "those girls never returned", "those boys never came back",
    "mum hasnt a clue where he is", "he said shes a liar", "she said \"hes a bully, always has been\"",
    "hes a student at the college", "shes a carer for her mum", "a young mum with a baby came in",
    "the pain in her leg is terrible", "shes a carer and always has been",
])
def test_words_in_those_shapes_that_label_nobody_are_not(text: str) -> None:
    assert JUDGEMENTAL not in _kinds(text)


# --- the data: an organisation extends the shapes' words ---------------------------------------


def test_an_organisation_can_add_label_nouns_hedges_and_inferences(tmp_path: Path) -> None:
    extra = tmp_path / "ours.toml"
    extra.write_text(
        '[person_labels]\nnouns = ["blagger"]\n'
        '[note_hedges]\nverbs = ["wager"]\n'
        '[inference]\ndone_to = ["fleeced"]\n', encoding="utf-8")
    rules = guidance.load_rules(extra)
    for text, kind in (("he's a blagger", JUDGEMENTAL), ("wager she knows", OPINION),
                       ("he is being fleeced", OPINION)):
        assert {f.kind for f in review(text, rules)} == {kind}, text
        assert kind not in {f.kind for f in review(text)}, text


def test_the_sentiment_lexicon_is_off_unless_turned_on(tmp_path: Path) -> None:
    assert review("she is a villain") == []  # a word only VADER's lexicon knows
    extra = tmp_path / "ours.toml"
    extra.write_text('[person_labels]\nlexicon = "vader"\n', encoding="utf-8")
    if importlib.util.find_spec("vaderSentiment") is None:
        with pytest.raises(InvalidInput, match="needs the vaderSentiment package"):
            guidance.load_rules(extra)
    else:
        assert {f.kind for f in review("she is a villain", guidance.load_rules(extra))} == {JUDGEMENTAL}


def test_a_bad_lexicon_name_is_one_sentence(tmp_path: Path) -> None:
    extra = tmp_path / "ours.toml"
    extra.write_text('[person_labels]\nlexicon = "elsewhere"\n', encoding="utf-8")
    with pytest.raises(InvalidInput, match="not valid"):
        guidance.load_rules(extra)
