"""The identity rules of a re-clustered window (monitor/identity.py): who keeps an id, who merges, who opens."""

from __future__ import annotations

import random

from monitor.identity import Member, Prior, decide


def members(*rows):
    """rows: (article, previous story or None, cluster); an article's key is its id (its age)."""
    return [Member(article=a, story=s, cluster=c, key=(a,)) for a, s, c in rows]


def test_new_articles_open_stories_in_the_order_of_their_first_article():
    out = decide(members((5, None, 1), (3, None, 0), (4, None, 1)), [])
    assert out.opened == ((3,), (4, 5))
    assert out.new == {3: 0, 4: 1, 5: 1} and not out.existing and not out.merged and not out.changed


def test_a_story_keeps_its_id_when_coverage_joins_it_and_is_unchanged_otherwise():
    out = decide(members((1, 10, 0), (2, 10, 0), (3, None, 0), (4, 11, 1)), [Prior(10, (1,)), Prior(11, (4,))])
    assert out.existing == {1: 10, 2: 10, 3: 10, 4: 11}
    assert out.changed == {10} and not out.opened and not out.merged


def test_a_bridging_article_merges_two_stories_into_the_older_one():
    rows = members((1, 10, 0), (2, 11, 0), (3, 11, 0), (4, None, 0))
    out = decide(rows, [Prior(10, (1,)), Prior(11, (2,))])
    assert out.merged == {11: 10}  # 10's first article is older, though 11 has more articles here
    assert set(out.existing.values()) == {10} and out.changed == {10, 11}


def test_anchors_outside_the_window_make_a_story_older():
    # story 12 has one article in the window but began long before it; story 10 began inside the window
    rows = members((5, 10, 0), (6, 10, 0), (7, 12, 0))
    out = decide(rows, [Prior(10, (5,)), Prior(12, (0,))])
    assert out.merged == {10: 12} and set(out.existing.values()) == {12}


def test_a_tie_in_age_goes_to_the_lower_id():
    rows = members((1, 11, 0), (2, 10, 0))
    assert decide(rows, [Prior(11, (1,)), Prior(10, (1,))]).merged == {11: 10}


def test_when_a_story_splits_the_larger_part_keeps_the_id():
    rows = members((1, 10, 0), (2, 10, 1), (3, 10, 1), (4, None, 1))
    out = decide(rows, [Prior(10, (1,))])
    assert out.existing == {2: 10, 3: 10, 4: 10}
    assert out.opened == ((1,),) and out.new == {1: 0} and out.changed == {10}


def test_a_split_off_part_joins_the_story_whose_main_part_it_holds():
    # story 10 splits; its article 3 lands with story 11's articles and simply joins 11
    rows = members((1, 10, 0), (2, 10, 0), (3, 10, 1), (4, 11, 1), (5, 11, 1))
    out = decide(rows, [Prior(10, (1,)), Prior(11, (4,))])
    assert out.existing == {1: 10, 2: 10, 3: 11, 4: 11, 5: 11} and not out.merged and out.changed == {10, 11}


def test_an_even_split_goes_to_the_part_with_the_earlier_article():
    rows = members((1, 10, 1), (2, 10, 0), (3, None, 0))
    out = decide(rows, [Prior(10, (1,))])
    assert out.existing == {1: 10} and out.opened == ((2, 3),)


def test_the_outcome_does_not_depend_on_the_order_of_members_or_cluster_labels():
    rows = members((1, 10, 0), (2, 11, 0), (3, 11, 2), (4, None, 2), (5, 12, 1), (6, None, 1), (7, None, 3), (8, 13, 0))
    priors = [Prior(10, (1,)), Prior(11, (2,)), Prior(12, (5,)), Prior(13, (0,))]
    first = decide(rows, priors)
    rnd = random.Random(4)
    for _ in range(20):
        relabel = dict(zip(range(4), rnd.sample(range(100), 4)))
        shuffled = [Member(m.article, m.story, relabel[m.cluster], m.key) for m in rows]
        rnd.shuffle(shuffled)
        assert decide(shuffled, rnd.sample(priors, len(priors))) == first
    # 11 ties 1-1 between clusters 0 and 2: its main part is the one with the earlier article (cluster 0)
    assert first.merged == {10: 13, 11: 13} and first.opened == ((3, 4), (7,))
