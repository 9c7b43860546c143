"""Neutral checks (vault/guidance.py's leading questions): a closed question about the person's
present wishes, consent, needs, support, means or understanding, not about what happened. Found by
shape (who is the subject, which verb, which tense), so that "can I share this with your social
worker?" and "is there someone we can call for you" are checks however they name a person, a place
or a detail, while "did he…", "was it your uncle who…" and "has she been hitting…" are not.
``reported``: the question is reported ("asked if she had…"), so its tense may be shifted back and
its subject is whoever was asked ("she", "he")."""

from __future__ import annotations

import re

_YOU = r"(?:you|u|ya|ye|yous|youse)"
_ASKED = r"(?:you|u|ya|ye|she|he|they)"  # in a reported question: the one asked
_GLUED = r"(?:['’]?(?:s|ve|d|re))?"  # "shes", "she's", "you've", "theyd"
_INDEFINITE = r"(?:any|some)(?:one|body|1|where)\b"
_DETERMINER = r"(?:a|an|any|some|enough|the|your|ur|yr|her|his|their|its|(?:any|some)(?:one|body|1|where))\b"
# The writer asks leave or offers: "can I share this with…", "shall we ring someone?". (Asking
# leave to ask is no check: "could I ask whether he…" is judged by what it asks.)
_PERMISSION = r"(?:can|could|may|shall|should)\s+(?:i|we)\s+(?!(?:just\s+)?(?:ask|check|say|suggest|put)\b)"
# Someone or somewhere there for them: "is there someone we can call", "if theres anyone she trusts".
_THERE_NOW = r"(?:(?:is|are)\s+there|there\s+(?:is|are)|there['’]?s|theres|(?:will|would)\s+there\s+be)\s+"
_THERE_THEN = r"(?:(?:was|were)\s+there|there\s+(?:was|were))\s+"
# What they have now: "have you got somewhere to stay", "if shes got credit on her phone". Not
# "got" before a participle ("if he got jumped": what happened) nor "has been", "had to".
_HAVING = r"\s+(?!been\b|to\b|[\w'’]*(?:ed|en)\b)[\w'’]"
_HAVE_NOW = (r"(?:(?:have|has)\s+" + _YOU + r"\s+got|(?:do|does)\s+" + _YOU + r"\s+have|" + _YOU + _GLUED
             + r"\s+got)" + _HAVING)
_HAVE_REPORTED = (r"(?:(?:have|has|had)\s+" + _ASKED + r"\s+got|(?:do|does|did)\s+" + _ASKED + r"\s+have|"
                  + _ASKED + r"(?:['’]?(?:s|ve|d)|\s+has|\s+have|\s+had)\s+got)" + _HAVING
                  + r"|" + _ASKED + r"\s+(?:has|had)\s+" + _DETERMINER)
# What they understand of what happens next: "do you understand that I can't keep it a secret",
# "if he knew what a referral to MASH means". What follows is the writer's, or the process.
_KNOW = (r"(?:(?:fully|really|properly)\s+)?(?:understand|understands|understood|know|knows|knew|realise[sd]?|"
         r"realize[sd]?|remember|remembers|remembered)\s+")
_THE_WRITER = (r"(?:(?:that|why|what|how|when)\s+)?"
               r"(?:i|we|im|ill|ive|id|i['’](?:m|ll|ve|d)|we['’](?:ll|re|ve|d)|staff)\b")
_THE_PROCESS = (r"what\s+(?:[\w'’-]+\s+){0,6}?(?:means|meant|is|are|was|will\s+happen|happens|would\s+happen|"
                r"comes\s+next|happen\s+next)\b")
_UNDERSTANDING = re.compile(
    r"(?:(?:do|does|can|could)\s+" + _YOU + r"\s+)" + _KNOW + "(?:" + _THE_WRITER + "|" + _THE_PROCESS + ")")
_UNDERSTANDING_REPORTED = re.compile(
    r"(?:(?:do|does|did|can|could)\s+" + _ASKED + r"\s+|" + _ASKED + r"\s+)" + _KNOW
    + "(?:" + _THE_WRITER + "|" + _THE_PROCESS + ")")


_CHECK = re.compile("|".join((_PERMISSION, _THERE_NOW + _INDEFINITE, _HAVE_NOW, _UNDERSTANDING.pattern)))
_CHECK_REPORTED = re.compile("|".join((_PERMISSION, "(?:" + _THERE_NOW + "|" + _THERE_THEN + ")" + _INDEFINITE,
                                       _HAVE_NOW, _HAVE_REPORTED, _UNDERSTANDING_REPORTED.pattern)))


def is_check(folded: str, reported: bool = False) -> bool:
    """Whether a closed question (``folded``: lower case, from its first word: the auxiliary,
    or the subject after "if"/"whether") asks leave, offers, asks whom or what they have now, or
    what they understand. One that names an act, an injury or a feeling is still leading unless
    it asks what they understand (:func:`is_understanding_check`): the caller asks first."""
    return (_CHECK_REPORTED if reported else _CHECK).match(folded) is not None


def is_understanding_check(folded: str, reported: bool = False) -> bool:
    """Whether a closed question asks what they understand of what the writer will do or of the
    process ("did he understand that i can't keep it a secret"): what follows is no allegation,
    whatever words it holds."""
    return (_UNDERSTANDING_REPORTED if reported else _UNDERSTANDING).match(folded) is not None
