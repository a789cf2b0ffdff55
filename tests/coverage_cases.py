"""Hand-written articles (invented lab, people, outlets) in the shape of real coverage of one announcement.

FIVE: one lab's report told by five outlets at five angles (the lab's blog, a wire, a tech site, an
explainer, a crypto outlet), long texts, all naming the lab, the same two authors and the same
figures. RIVAL: two pieces on a rival lab hiring for the same topic the same week. OFF_TOPIC: three
unrelated pieces. Used by tests/test_story_signals.py and benchmarks/cluster_eval.py.
"""

from datetime import datetime, timedelta, timezone

from monitor.cluster import Doc

T0 = datetime(2026, 4, 14, 13, tzinfo=timezone.utc)


def _doc(ident, hours, source, title, *paras):
    return Doc(ident, title, "\n\n".join(paras), source, T0 + timedelta(hours=hours))


FIVE = [
    _doc("f1", 0, "Helix Labs Blog", "What a year of agentic coding did to our engineering",
         "Twelve months ago we gave every engineer at Helix Labs access to coding agents built on Orion. Today more "
         "than 80% of merged code at the company starts as an agent's change, and engineers ship eight times more "
         "code than they did before.",
         "The study behind these numbers was led by Mara Venn and Tomas Reyes on our productivity team. They "
         "followed 612 engineers and every pull request they opened. We also found costs: review queues grew, and "
         "incidents traced to unread changes doubled before we added new checks.",
         "We are sharing the method so that other teams can compare.",
         "How we counted: a change counts as agent-written when an agent opened the pull request or authored most "
         "of its diff, even if a person edited it afterwards. We excluded generated files, vendored libraries and "
         "lockfiles, and we sampled four hundred changes by hand to check the classifier's labels."),
    _doc("f2", 1.5, "Continental Press Agency", "Helix Labs says AI agents write more than 80% of its code",
         "Artificial intelligence developer Helix Labs said on Tuesday that software agents now produce more than 80 "
         "percent of the code merged by its engineers, one of the largest such claims by a technology company.",
         "An internal study by Helix researchers Mara Venn and Tomas Reyes, covering 612 engineers over a year, found "
         "they shipped eight times more code than before using the agents. The figures could not be independently "
         "verified. The San Francisco company sells access to its Orion models to businesses.",
         "Helix, founded in 2021, raised funding last year at a valuation reported at about 30 billion and competes "
         "with larger rivals for enterprise customers. Shares of listed software makers were little changed after "
         "the announcement, which came a week before the company's annual developer conference."),
    _doc("f3", 3, "Circuit Daily", "Helix's Orion agents now write most of its software, and review is the new bottleneck",
         "The most striking line in Helix Labs' new report is not the headline number, though that is big: over 80% "
         "of merged code is written by Orion-based agents. It is the admission that humans cannot keep up with "
         "reading it all.",
         "Authors Mara Venn and Tomas Reyes say engineers produced eight times more code, while time spent in review "
         "rose by half. Venn told us that reviewers now use agents to summarise changes before approving them, "
         "which raises its own questions.",
         "In practice the agents run in sandboxes with access to the test suite and a budget of compute per task. "
         "Engineers describe the job as writing specifications and reading diffs. The report does not say which "
         "Orion version was used, or how often agents were stopped by the safety checks Helix added in the spring."),
    _doc("f4", 20, "The Explainer Desk", "Does AI really write 80% of the code at Helix Labs? What the numbers mean",
         "You may have seen the claim that AI now writes more than 80% of the code at Helix Labs. Here is what the "
         "figure measures: the share of merged lines that began as an agent's suggestion, whether or not an "
         "engineer later rewrote them.",
         "The other headline figure, eight times more code, compares output per engineer before and after the "
         "agents arrived. Co-author Tomas Reyes says the study did not track whether the extra code was needed. "
         "Mara Venn, who led it, calls it a first measurement rather than a verdict.",
         "Claims like this have a history. Productivity studies of earlier assistants found large gains on small "
         "tasks and smaller ones on real projects, and surveys of developers show trust lagging behind use. "
         "What would settle it: independent audits, data from companies that do not sell the tools, and measures of "
         "defects and maintenance rather than volume."),
    _doc("f5", 26, "Chainwire Markets", "AI tokens climb after Helix Labs touts agent-written code",
         "Tokens linked to decentralised computing rose as much as 11% after Helix Labs said agents write more than "
         "80% of its merged code, a sign to traders that demand for inference could keep climbing.",
         "The report, by Helix researchers Mara Venn and Tomas Reyes, said engineers produced eight times more code. "
         "Analysts at one trading desk said the study was being passed around as a bullish signal for GPU rental "
         "networks, though Helix Labs itself has no token.",
         "The rally was broad but thin: trading volumes in the sector stayed below last month's average, and "
         "several tokens gave back half their gains by the evening in Asia. Funding rates on perpetual futures "
         "turned positive, a sign that leveraged buyers were piling in."),
]

RIVAL = [
    _doc("r1", 8, "Talent Signal", "Rival lab Corvex is hiring a team to study AI that improves itself",
         "Corvex AI has posted a dozen job openings for a new research group on recursive self-improvement: models "
         "that help write the code used to train their successors.",
         "The listings, for roles in London and Toronto, offer salaries of up to $420,000. Corvex's head of research, "
         "Idris Calloway, has said such systems are the field's most important open problem."),
    _doc("r2", 30, "Circuit Daily", "Corvex wants researchers for AI that builds better AI",
         "Corvex AI is recruiting for a team to study self-improving systems, according to job ads published this "
         "week. The new group will report to Idris Calloway and sit in the company's London office.",
         "Salaries listed go up to $420,000. Corvex declined to say how many people it plans to hire in total."),
]

OFF_TOPIC = [
    _doc("o1", 2, "Northern Courier", "Floods close the coastal road at Lisle for a third day",
         "The coastal road at Lisle stayed closed on Tuesday after storm water washed away a section near the "
         "harbour. Council engineers said repairs could take two weeks, and buses are running a detour through the "
         "hills that adds forty minutes to each trip."),
    _doc("o2", 5, "Finance Weekly", "Halvard Bank raises its dividend after a strong quarter",
         "Halvard Bank lifted its quarterly dividend by 10% after profit beat forecasts, helped by higher lending "
         "margins. The bank also said it would close 40 branches next year as more customers bank on their phones."),
    _doc("o3", 9, "Sports Central", "Redmoor United sign a new goalkeeper from Calder Town",
         "Redmoor United have signed goalkeeper Jonas Adeyemi from Calder Town on a four-year contract. The fee was "
         "not disclosed, but local reports put it at about 6 million."),
]
