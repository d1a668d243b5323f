"""Solr-format synonym rules, compared after analysis."""

from service.index.schema import analyze
from service.query.synonyms import parse_synonyms

RULES = """
# comment lines and blank lines are ignored

belly button, navel, umbilicus
pee => pee, urinate   # one way: "urinate" does not expand to "pee"
wet dreams, nocturnal emission
"""


def test_equivalent_terms_expand_to_each_other_and_never_to_themselves():
    rules = parse_synonyms(RULES)
    navel = rules.alternatives(tuple(analyze("navel")))
    assert tuple(analyze("belly button")) in navel and tuple(analyze("umbilicus")) in navel
    assert tuple(analyze("navel")) not in navel


def test_one_way_rules_expand_only_from_the_left():
    rules = parse_synonyms(RULES)
    assert rules.alternatives(("pee",)) == [tuple(analyze("urinate"))]
    assert rules.alternatives(tuple(analyze("urinate"))) == []


def test_phrases_are_compared_after_analysis_and_the_longest_is_known():
    rules = parse_synonyms(RULES)
    assert rules.alternatives(tuple(analyze("belly buttons"))) == rules.alternatives(tuple(analyze("belly button")))
    assert rules.alternatives(tuple(analyze("wet dream"))) == [tuple(analyze("nocturnal emission"))]
    assert rules.longest == 2 and "belli" in rules.words


def test_lines_that_analyse_to_nothing_are_ignored():
    rules = parse_synonyms("the, a, of\n=>\n,,\n")
    assert rules.expansions == {} and rules.longest == 0
