"""Near-duplicates: syndicated copies merge, independent reports of one event do not."""

from monitor.dedup import DuplicateIndex, DuplicateStep, duplicate_steps, signature, similarity

GOLDEN_WIRE_SHA256 = "1523557cb330eb34"  # format 3 signature of WIRE, recorded once: it must never change

WIRE = (
    "Kestrel AI said on Thursday that its research assistant had designed and run most of the "
    "experiments behind its latest language model, a step the company described as the start of "
    "automated machine learning research. The firm, based in Toronto, said the system proposed "
    "about four hundred changes to its own training recipe over six weeks and that engineers "
    "accepted roughly a third of them after review. Chief scientist Lena Castell said the team "
    "still checked every change by hand and that no change was deployed without sign-off. Outside "
    "researchers asked the company to publish the logs so that others could judge the claim."
)
OTHER_REPORT = (
    "Toronto start-up Kestrel AI claims a software agent now does much of the work of its machine "
    "learning team. According to the company, the agent suggested hundreds of tweaks to how its "
    "newest model is trained, and staff kept around one in three. Lena Castell, who leads research "
    "there, stressed that humans review everything. Several academics were sceptical and called "
    "for the experiment logs to be released for independent scrutiny before anyone takes the "
    "announcement at face value."
)


def test_syndicated_copy_with_other_boilerplate_merges():
    index = DuplicateIndex()
    index.add(1, signature(WIRE))
    copy = ("Metro Herald | Technology | Share this article. " + WIRE
            + " This story first appeared on Daily Wire Tech. Sign up for our newsletter.")
    assert index.find(signature(copy)) == 1


def test_two_reports_of_one_event_in_own_words_do_not_merge():
    index = DuplicateIndex()
    index.add(1, signature(WIRE))
    assert index.find(signature(OTHER_REPORT)) is None
    assert similarity(signature(WIRE), signature(OTHER_REPORT)) < 0.2


def test_short_text_has_no_signature():
    assert signature("Kestrel AI says its agent ran most experiments.") is None
    assert signature("") is None


def test_best_match_wins_and_signature_is_stable_bytes():
    sig = signature(WIRE)
    assert isinstance(sig, bytes) and sig == signature(WIRE)
    index = DuplicateIndex(threshold=0.5)
    index.add(7, signature(WIRE + " Additional reporting by Owen Pike and a long correction note appended here."))
    index.add(3, sig)
    assert index.find(sig) == 3


def test_signature_of_another_format_counts_as_none():
    # rows stored by an earlier format (first byte 0x01) or cut short must not break a run
    old = b"\x01" + signature(WIRE)[1:]
    index = DuplicateIndex()
    index.add(1, old)
    index.add(2, signature(WIRE)[:100])
    assert len(index) == 0
    index.add(3, signature(WIRE))
    assert index.find(old) is None
    assert index.find(signature(WIRE)) == 3


def test_case_and_apostrophes_do_not_matter_and_accents_do():
    curly = WIRE.replace("company", "company’s own") + " Nous étions là, à Zürich."
    straight = curly.replace("’", "'").upper()
    assert signature(curly) == signature(straight)
    # an accented word is another word: folding every "the" into "thé" changes many shingles
    assert similarity(signature(curly), signature(curly.replace(" the ", " thé "))) < 0.9


def test_many_copies_each_find_the_first():
    index = DuplicateIndex()
    texts = [f"Story {i}: " + " ".join(f"w{i}x{k}" for k in range(60)) for i in range(200)]
    for i, t in enumerate(texts):
        assert index.find(signature(t)) is None
        index.add(i, signature(t))
    for i, t in enumerate(texts):
        assert index.find(signature("Shared by arrangement. " + t + " More at our site.")) == i


def test_signatures_do_not_depend_on_a_library_generator():
    # stored signatures must stay comparable across releases of datasketch and numpy: the permutations
    # are this module's own, so a signature made today is byte for byte the one made by any later version
    import hashlib

    assert signature(WIRE)[:1] == b"\x03"
    assert hashlib.sha256(signature(WIRE)).hexdigest()[:16] == GOLDEN_WIRE_SHA256


def test_signature_of_format_2_is_not_current():
    from monitor.dedup import is_current

    assert is_current(signature(WIRE))
    assert not is_current(b"\x02" + signature(WIRE)[1:])
    assert not is_current(None)


def test_a_database_signed_by_format_2_still_catches_copies_after_the_upgrade(server, tmp_path):
    """Articles stored before the signature format changed are signed again from their text, so a
    syndicated copy arriving after the upgrade still folds into its original."""
    import sqlite3

    from monitor.config import load_config
    from monitor.loopback import Route
    from monitor.pipeline import export_articles, run
    from monitor.store import Store

    from .sample import page, serve_sample, write_config

    serve_sample(server)
    config = load_config(write_config(tmp_path, server))
    run(config, extract_workers=0)
    with sqlite3.connect(config.database) as db:  # as an older version left it
        db.execute("UPDATE articles SET signature = CAST(X'02' || substr(signature, 2) AS BLOB) WHERE signature IS NOT NULL")

    original = server.url("/ledger/lab-automates-research")
    copy_html = page("/ledger/lab-automates-research", server.base).decode().replace(
        f'href="{original}"', f'href="{server.url("/wire/copy")}"').replace(
        "<article>", "<article><p>Carried by arrangement with The Circuit Ledger.</p>")
    server.routes["/wire/copy"] = Route(copy_html.encode())
    server.routes["/wire/rss.xml"] = Route(
        (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire Desk</title><item><title>Lab runs its own '
         f'experiments</title><link>{server.url("/wire/copy")}</link><guid>copy-1</guid>'
         f"<pubDate>Wed, 04 Nov 2026 10:00:00 GMT</pubDate></item></channel></rss>").encode(),
        content_type="application/rss+xml")
    config = load_config(write_config(tmp_path, server, extra_feeds=["/wire/rss.xml"]))
    run(config, extract_workers=0)

    with Store.open(config.database) as store:
        exported = {a["url"]: a for a in export_articles(store)}
    copy = exported[server.url("/wire/copy")]
    assert copy["original"] is False and copy["copy_of"] == original  # a copy, not a report of its own
    assert exported[original]["original"] is True


def test_steps_point_a_later_copy_at_the_stored_original_and_sign_a_new_report():
    stored = [(1, signature(WIRE), "2026-11-02T09:00:00+00:00")]
    copy = "Metro Herald | Share this. " + WIRE
    new = [(2, copy, "2026-11-02T12:00:00+00:00"), (3, OTHER_REPORT, "2026-11-02T13:00:00+00:00")]
    steps = duplicate_steps(new, stored)
    assert steps == [DuplicateStep(2, signature(copy), original=1), DuplicateStep(3, signature(OTHER_REPORT))]


def test_an_earlier_dated_copy_takes_the_place_of_the_original_and_later_copies_follow_it():
    stored = [(1, signature(WIRE), "2026-11-02T09:00:00+00:00")]
    earlier = WIRE + " First published by the Toronto Wire."
    later = "Reprinted. " + WIRE
    new = [(5, earlier, "2026-11-02T07:00:00+00:00"), (6, later, "2026-11-02T15:00:00+00:00")]
    assert [(s.article, s.original, s.replaces) for s in duplicate_steps(new, stored)] == [(5, 1, True), (6, 5, False)]
