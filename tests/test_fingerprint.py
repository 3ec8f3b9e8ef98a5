"""Fingerprints and the near-duplicate threshold, measured on realistic story families.

Each family is one news story as three outlets carry it: the headline re-worded,
the lead paragraph edited, the body the same. Two families are about Kata'ib
Hezbollah and two about the PKK, and each pair shares the background paragraph
outlets paste into every story about that group. tests/test_entries.py records
the same copies through the store.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from extractors.article import Article
from extractors.fingerprint import THRESHOLD, content_fingerprint, from_bytes, signature, to_bytes

KH_BACKGROUND = (
    "Kata'ib Hezbollah is one of the most powerful Iran-aligned factions in Iraq and is formally part of the "
    "Popular Mobilization Forces, a state-sanctioned umbrella of mostly Shiite armed groups that fought the "
    "Islamic State. The United States designated it a terrorist organisation in 2009."
)
PKK_BACKGROUND = (
    "The PKK, which has waged an insurgency against the Turkish state since 1984 in which more than 40,000 people "
    "have been killed, is designated a terrorist organisation by Turkey, the United States and the European Union."
)


@dataclass(frozen=True)
class Family:
    name: str
    headlines: tuple[str, str, str]
    leads: tuple[str, str, str]
    body: tuple[str, ...]

    def copies(self) -> list[Article]:
        return [
            Article(id=f"{self.name}-{n}", title=title, paragraphs=[lead, *self.body], source=f"Outlet {n}",
                    url=f"https://outlet{n}.example/{self.name}")
            for n, (title, lead) in enumerate(zip(self.headlines, self.leads, strict=True), start=1)
        ]

    def trimmed(self) -> Article:
        """A harder copy: the second headline and lead, the last two paragraphs cut, a boilerplate line added."""
        second = self.copies()[1]
        boilerplate = "Follow our coverage of Iraq on Telegram and sign up for our daily newsletter."
        return Article(id=f"{self.name}-t", title=second.title, paragraphs=[*second.paragraphs[:-2], boilerplate],
                       source="Outlet 4", url=f"https://outlet4.example/{self.name}")

    @property
    def words(self) -> int:
        return len(self.copies()[0].text.split())


KH_THREAT = Family(
    "kh-threat",
    ("Kataib Hezbollah threatens US bases in Iraq and Syria",
     "Iraqi militia vows to hit American forces if strikes continue",
     "Iran-backed group warns Washington after deadly strikes on its positions"),
    ("Kata'ib Hezbollah said on Sunday in a statement on its Telegram channel that it would target American bases in "
     "Iraq and Syria if the strikes on its positions near the Syrian border continued.",
     "The Iraqi armed faction Kata'ib Hezbollah said on Sunday that it would target American bases in Iraq and Syria "
     "if US strikes on its positions near the border with Syria continued, according to a statement on Telegram.",
     "Kata'ib Hezbollah warned in a Telegram statement on Sunday that it would strike American bases in Iraq and "
     "Syria should the attacks on its positions near the Syrian border go on."),
    (
        "The group's spokesman said the strikes on Jurf al-Sakhar and al-Qaim had killed four of its fighters and "
        "wounded several others, and that the response would come at a time and place of its choosing. He accused "
        "the government of failing to protect the country's sovereignty and said the resistance would no longer "
        "stand by while its men were killed.",
        "Iraqi government officials have been trying to contain the escalation for weeks, fearing that the country "
        "could be dragged into a wider regional war between Iran and the United States. A senior official in "
        "Baghdad told reporters that the prime minister had spoken with the leaders of several factions on Saturday "
        "night and urged restraint, while also calling on Washington to stop acting unilaterally on Iraqi soil.",
        "The Pentagon said it would hold the groups responsible for any attack on American personnel and that it "
        "reserved the right to defend its forces. About 2,500 American troops remain in Iraq under an agreement "
        "with the government in Baghdad, most of them at Ain al-Asad air base in Anbar and at Harir air base near "
        "Erbil, where they advise and assist Iraqi forces fighting remnants of the Islamic State.",
        KH_BACKGROUND,
        "Analysts said the statement was the most explicit threat from the group since it announced a suspension "
        "of its operations against American forces in February, after a drone attack killed three American soldiers "
        "at a base in Jordan. Renad Mansour, a researcher at Chatham House, said the factions were under pressure "
        "from their own fighters to respond, but that Tehran did not want a confrontation it could not control.",
        "Parliament's security and defence committee said it would summon the commanders of the joint operations "
        "command this week to explain how the strikes were carried out and whether the government had been informed "
        "in advance. Several lawmakers from the Coordination Framework called again for a timetable for the "
        "withdrawal of the international coalition.",
    ),
)

KH_BASRA = Family(
    "kh-basra",
    ("Kataib Hezbollah denies role in killing of Basra politician",
     "Militia rejects accusations over Basra assassination",
     "Iraq's Kataib Hezbollah says it had nothing to do with Basra shooting"),
    ("Kata'ib Hezbollah on Wednesday denied any role in the assassination of a local politician in Basra, saying the "
     "accusations were part of a campaign to tarnish the reputation of the resistance.",
     "The Iraqi armed faction Kata'ib Hezbollah denied on Wednesday that it had any role in the killing of a local "
     "politician in Basra, calling the accusations a campaign to tarnish the resistance.",
     "Kata'ib Hezbollah rejected on Wednesday accusations that it was behind the assassination of a politician in "
     "Basra, describing them as part of a campaign against the reputation of the resistance."),
    (
        "Police in Basra said Hamid al-Maliki, a member of the provincial council, was shot by two gunmen on a "
        "motorcycle as he left his office in the city centre on Monday evening. He died of his wounds in hospital "
        "a few hours later. An investigation had been opened and checkpoints were set up on the roads leading out "
        "of the city, a police spokesman said.",
        "The governor of the province ordered a curfew for the night and declared three days of mourning, while "
        "political parties across the spectrum condemned the killing and called for calm ahead of the provincial "
        "elections due in December. Hundreds of people attended the funeral on Tuesday, some chanting against the "
        "armed factions.",
        "Security sources said the victim had received threats after criticising armed factions on a local "
        "television programme last month, in which he accused them of controlling smuggling through the port of Umm "
        "Qasr. No group had claimed responsibility for the attack by Wednesday evening.",
        KH_BACKGROUND,
        "Human rights groups have documented dozens of killings of activists and politicians in southern Iraq since "
        "the protests of 2019, and say that almost none of the cases has led to a conviction. The United Nations "
        "mission in Iraq called on the authorities to bring those responsible to justice swiftly and transparently.",
        "The interior minister said on Wednesday that the investigation had identified the motorcycle used in the "
        "attack and that arrests were expected within days. He declined to say whether the suspects belonged to "
        "any armed group.",
    ),
)

PKK_SINJAR = Family(
    "pkk-sinjar",
    ("Turkish drone strike kills three PKK-linked fighters in Sinjar",
     "Drone attack in Iraq's Sinjar kills commanders of Yazidi force",
     "Turkey hits PKK affiliate in northern Iraq, three dead"),
    ("A Turkish drone strike on a vehicle near the town of Sinune in Iraq's Sinjar district killed three members "
     "of a Yazidi armed group linked to the Kurdistan Workers' Party (PKK) on Thursday, local officials said.",
     "Three members of a Yazidi armed group affiliated with the Kurdistan Workers' Party (PKK) were killed on "
     "Thursday when a Turkish drone struck their vehicle near Sinune in the Sinjar district, officials said.",
     "A Turkish drone hit a car near Sinune in northern Iraq's Sinjar district on Thursday, killing three members of "
     "a Yazidi group tied to the Kurdistan Workers' Party (PKK), according to local officials."),
    (
        "The mayor of Sinune said the car was travelling on the road towards the Syrian border when it was hit in "
        "the early afternoon, and that the bodies were taken to the hospital in Sinjar town. Among the dead was a "
        "senior commander of the Sinjar Resistance Units, known by their Kurdish initials YBS, which were formed "
        "to protect the Yazidi community after the Islamic State overran the area in 2014.",
        "Turkey's defence ministry said in a statement that its forces had neutralised three terrorists in northern "
        "Iraq, without giving the location. Ankara regards the YBS as an extension of the PKK and has carried out "
        "dozens of strikes in Sinjar in recent years, saying the group is using the district as a corridor between "
        "its bases in the Qandil mountains and northeastern Syria.",
        PKK_BACKGROUND,
        "Iraq's foreign ministry condemned the strike as a violation of the country's sovereignty and said it would "
        "summon the Turkish charge d'affaires. The Kurdistan Regional Government did not comment. Baghdad and Erbil "
        "signed an agreement in 2020 to remove armed groups from Sinjar and restore a joint administration, but it "
        "has never been fully implemented.",
        "Yazidi activists said the repeated strikes were keeping tens of thousands of displaced people from "
        "returning to Sinjar, where reconstruction has barely begun nearly a decade after the genocide. More than "
        "200,000 Yazidis still live in camps in the Kurdistan region, according to the International Organization "
        "for Migration.",
    ),
)

PKK_TALKS = Family(
    "pkk-talks",
    ("PKK says it will hold disarmament ceremony in northern Iraq",
     "Kurdish militants announce first handover of weapons",
     "PKK fighters to lay down arms near Sulaimaniyah next week"),
    ("The Kurdistan Workers' Party (PKK) said on Saturday that a first group of its fighters would hand over their "
     "weapons at a ceremony in the Kurdistan region of Iraq next week, in a step towards ending its insurgency.",
     "A first group of fighters of the Kurdistan Workers' Party (PKK) will hand over their weapons next week at a "
     "ceremony in Iraq's Kurdistan region, the group said on Saturday, a step towards ending its armed struggle.",
     "The Kurdistan Workers' Party (PKK) announced on Saturday that some of its fighters would give up their weapons "
     "at a ceremony in the Kurdistan region of Iraq next week as part of a process to end its insurgency."),
    (
        "The group said about thirty fighters, including several commanders, would take part in the ceremony near "
        "Sulaimaniyah, in the presence of officials of the Kurdistan Regional Government and of Turkish "
        "intelligence. It described the handover as a gesture of goodwill and called on Ankara to take legal steps "
        "that would allow its members to return to political life.",
        PKK_BACKGROUND,
        "The announcement follows a call in February by the group's jailed founder, Abdullah Ocalan, for the PKK to "
        "lay down its arms and dissolve itself. The group declared a ceasefire a few days later and said in May that "
        "it had decided to disband at a congress held in the mountains of northern Iraq.",
        "Turkish President Recep Tayyip Erdogan said the process would be monitored closely to ensure that the "
        "weapons were actually surrendered, and that Turkey would not allow the peace effort to be sabotaged. His "
        "nationalist ally Devlet Bahceli, who first proposed the initiative last October, welcomed the announcement.",
        "Officials in Erbil said they hoped the end of the conflict would allow villagers to return to areas along "
        "the border that have been emptied by years of Turkish air strikes and ground operations against PKK bases. "
        "Hundreds of villages in the Duhok province have been abandoned since 2015.",
        "Analysts cautioned that many questions remained unresolved, including the fate of the group's commanders in "
        "the Qandil mountains, the status of its affiliates in Syria and Sinjar, and whether the Turkish parliament "
        "would pass the amnesty and reintegration laws the group is demanding.",
    ),
)

FAMILIES = [KH_THREAT, KH_BASRA, PKK_SINJAR, PKK_TALKS]
SAME_ACTOR = [(KH_THREAT, KH_BASRA), (PKK_SINJAR, PKK_TALKS)]


def similarities() -> tuple[list[float], list[float], list[float], list[float]]:
    """Estimated Jaccard similarity: between copies of one story, of a trimmed copy to the others,
    between stories about one actor, and between unrelated stories. Run with ``-s`` to see them."""
    sigs = {f.name: [signature(a) for a in f.copies()] for f in FAMILIES}
    within = [a.jaccard(b) for f in FAMILIES for a, b in itertools.combinations(sigs[f.name], 2)]
    trimmed = [signature(f.trimmed()).jaccard(s) for f in FAMILIES for s in sigs[f.name]]
    pairs = {frozenset((f.name, g.name)) for f, g in SAME_ACTOR}
    same_actor, unrelated = [], []
    for f, g in itertools.combinations(FAMILIES, 2):
        values = [a.jaccard(b) for a in sigs[f.name] for b in sigs[g.name]]
        (same_actor if frozenset((f.name, g.name)) in pairs else unrelated).extend(values)
    return within, trimmed, same_actor, unrelated


def test_the_story_families_are_news_length() -> None:
    assert all(300 <= f.words <= 600 for f in FAMILIES), [f.words for f in FAMILIES]


def test_copies_of_one_story_clear_the_threshold_and_other_stories_stay_well_below() -> None:
    within, trimmed, same_actor, unrelated = similarities()
    print(f"\ncopies {min(within):.2f}..{max(within):.2f}; trimmed copies {min(trimmed):.2f}..{max(trimmed):.2f}; "
          f"same actor {min(same_actor):.2f}..{max(same_actor):.2f}; unrelated <= {max(unrelated):.2f}; threshold {THRESHOLD}")
    assert min(within) > THRESHOLD + 0.3
    assert min(trimmed) > THRESHOLD + 0.05
    assert max(same_actor) < THRESHOLD / 3
    assert max(unrelated) < 0.05


def test_signatures_are_deterministic_and_survive_the_database_round_trip() -> None:
    article = KH_THREAT.copies()[0]
    s = signature(article)
    assert from_bytes(to_bytes(s)).jaccard(s) == 1.0
    assert to_bytes(signature(article)) == to_bytes(s)
    assert len(to_bytes(s)) == 128 * 8


def test_exact_fingerprint_ignores_case_and_spacing_but_not_words() -> None:
    a = Article(id="a", title="Iran  Threatens", paragraphs=["Body\ttext."])
    b = Article(id="b", title="iran threatens", paragraphs=["Body   text."])
    assert content_fingerprint(a) == content_fingerprint(b)
    assert content_fingerprint(a) != content_fingerprint(Article(id="c", title="Iran threatens", paragraphs=["Other."]))
    assert len(content_fingerprint(a)) == 64
