"""SCORM packages built in code for the tests: well-formed ones and hostile ones."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

SCO_PAGE = b"""<!doctype html><html><head><title>SCO</title><script>
function findAPI(w){var n=0;while(!w.API&&w.parent&&w.parent!==w&&n<10){w=w.parent;n++}return w.API}
var api=findAPI(window);if(api){api.LMSInitialize("");}
</script></head><body>SCO</body></html>"""

MANIFEST_12 = """<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="pkg-12" version="1.0"
  xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2"
  xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2">
  <metadata><schema>ADL SCORM</schema><schemaversion>1.2</schemaversion></metadata>
  <organizations default="org">
    <organization identifier="org">
      <title>{title}</title>
      <item identifier="item-1" identifierref="res-1" parameters="?lang=zh">
        <title>第一課 Lesson one</title>
        <adlcp:masteryscore>80</adlcp:masteryscore>
        <adlcp:maxtimeallowed>0000:30:00</adlcp:maxtimeallowed>
        <adlcp:timelimitaction>exit,message</adlcp:timelimitaction>
        <adlcp:datafromlms>mode=review</adlcp:datafromlms>
      </item>
    </organization>
  </organizations>
  <resources>
    <resource identifier="res-1" type="webcontent" adlcp:scormtype="sco" href="index.html">
      <file href="index.html"/>
      <file href="media/clip.mp4"/>
    </resource>
  </resources>
</manifest>
"""

MANIFEST_2004 = """<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="pkg-2004" version="1"
  xmlns="http://www.imsglobal.org/xsd/imscp_v1p1"
  xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_v1p3"
  xmlns:adlseq="http://www.adlnet.org/xsd/adlseq_v1p3"
  xmlns:adlnav="http://www.adlnet.org/xsd/adlnav_v1p3"
  xmlns:imsss="http://www.imsglobal.org/xsd/imsss">
  <metadata><schema>ADL SCORM</schema><schemaversion>2004 4th Edition</schemaversion></metadata>
  <organizations default="main">
    <organization identifier="other"><title>Not the default</title>
      <item identifier="x" identifierref="sco-a"><title>x</title></item>
    </organization>
    <organization identifier="main">
      <title>資安意識 Security awareness</title>
      <item identifier="module-1">
        <title>單元一 Part one</title>
        <item identifier="a" identifierref="sco-a"><title>A</title>
          <adlcp:dataFromLMS>start=1</adlcp:dataFromLMS>
          <adlcp:timeLimitAction>continue,no message</adlcp:timeLimitAction>
          <imsss:sequencing>
            <imsss:limitConditions attemptAbsoluteDurationLimit="PT45M"/>
            <imsss:objectives>
              <imsss:primaryObjective objectiveID="pass-a" satisfiedByMeasure="true">
                <imsss:minNormalizedMeasure>0.7</imsss:minNormalizedMeasure>
              </imsss:primaryObjective>
            </imsss:objectives>
          </imsss:sequencing>
        </item>
        <item identifier="b" identifierref="sco-b"><title>B</title>
          <imsss:sequencing><imsss:objectives>
            <imsss:primaryObjective objectiveID="pass-b" satisfiedByMeasure="true">
              <imsss:minNormalizedMeasure>0.7</imsss:minNormalizedMeasure>
            </imsss:primaryObjective>
          </imsss:objectives></imsss:sequencing>
        </item>
      </item>
      <item identifier="glossary" identifierref="asset-g" isvisible="false"><title>G</title></item>
      <imsss:sequencing><imsss:controlMode choice="true" flow="true"/></imsss:sequencing>
    </organization>
  </organizations>
  <resources xml:base="content/">
    <resource identifier="sco-a" type="webcontent" adlcp:scormType="sco" href="a/index.html">
      <file href="a/index.html"/>
      <dependency identifierref="common"/>
    </resource>
    <resource identifier="sco-b" type="webcontent" adlcp:scormType="sco" href="b/index.html?x=1">
      <file href="b/index.html"/>
    </resource>
    <resource identifier="asset-g" type="webcontent" adlcp:scormType="asset" href="glossary.html">
      <file href="glossary.html"/>
    </resource>
    <resource identifier="common" type="webcontent" adlcp:scormType="asset">
      <file href="shared/app.js"/>
    </resource>
  </resources>
</manifest>
"""


def build_zip(
    path: Path, files: dict[str, bytes | str], *, links: dict[str, str] | None = None
) -> Path:
    """Write a zip of ``files`` (and symbolic ``links``: name → target) at ``path``."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in files.items():
            archive.writestr(name, body.encode() if isinstance(body, str) else body)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3  # Unix, so the mode below is read
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return path


def scorm12(path: Path, title: str = "個資保護 Privacy basics") -> Path:
    """A SCORM 1.2 single-SCO package with a mastery score of 80."""
    return build_zip(
        path,
        {
            "imsmanifest.xml": MANIFEST_12.format(title=title),
            "index.html": SCO_PAGE,
            "media/clip.mp4": bytes(range(256)) * 64,
        },
    )


def scorm2004(path: Path) -> Path:
    """A SCORM 2004 4th edition package: two SCOs and an asset, mastery score 0.7."""
    return build_zip(
        path,
        {
            "imsmanifest.xml": MANIFEST_2004,
            "content/a/index.html": SCO_PAGE,
            "content/b/index.html": SCO_PAGE,
            "content/glossary.html": "<p>glossary</p>",
            "content/shared/app.js": "console.log('shared');",
        },
    )


def raw_zip(path: Path, names: dict[str, bytes]) -> Path:
    """A zip whose entry names are written exactly as given (no normalisation)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, body in names.items():
            info = zipfile.ZipInfo("placeholder")
            info.filename = name  # ZipInfo() would turn backslashes and drive letters around
            archive.writestr(info, body)
    path.write_bytes(buffer.getvalue())
    return path


# A SCO as authoring tools write one: find the API up the frames, initialise, read the entry and
# bookmark, show them, bookmark a page of its own and commit it as a suspended session, then
# move the bookmark without committing (the player's page-hide commit must carry it).
BOOKMARK_SCO = b"""<!doctype html><html><head><title>SCO</title><script>
function findAPI(w){var n=0;while(!w.API&&w.parent&&w.parent!==w&&n<10){w=w.parent;n++}return w.API}
window.addEventListener("load",function(){
var api=findAPI(window);
if(!api){document.getElementById("entry").textContent="no API";return}
api.LMSInitialize("");
document.getElementById("entry").textContent=api.LMSGetValue("cmi.core.entry");
document.getElementById("location").textContent=api.LMSGetValue("cmi.core.lesson_location");
api.LMSSetValue("cmi.core.lesson_status","incomplete");
api.LMSSetValue("cmi.core.lesson_location","page-3");
api.LMSSetValue("cmi.suspend_data","seen=1,2,3");
api.LMSSetValue("cmi.core.exit","suspend");
document.getElementById("committed").textContent=api.LMSCommit("");
api.LMSSetValue("cmi.core.lesson_location","page-4");
});
</script></head><body>
<p>entry=<span id="entry"></span></p><p>location=<span id="location"></span></p>
<p>committed=<span id="committed"></span></p></body></html>"""


def scorm12_bookmark(path: Path, title: str = "書籤 Bookmark") -> Path:
    """A SCORM 1.2 single-SCO package whose SCO shows its entry and bookmark, then sets one."""
    return _scorm12_sco(path, title, BOOKMARK_SCO)


def _scorm12_sco(path: Path, title: str, sco: bytes) -> Path:
    """A SCORM 1.2 package (mastery score 80) whose one SCO is the page ``sco``."""
    manifest = MANIFEST_12.format(title=title)
    return build_zip(
        path, {"imsmanifest.xml": manifest, "index.html": sco, "media/clip.mp4": b"\x00" * 16}
    )


MANIFEST_2004_FLOW = """<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="pkg-flow" version="1"
  xmlns="http://www.imsglobal.org/xsd/imscp_v1p1"
  xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_v1p3"
  xmlns:adlnav="http://www.adlnet.org/xsd/adlnav_v1p3"
  xmlns:imsss="http://www.imsglobal.org/xsd/imsss">
  <metadata><schema>ADL SCORM</schema><schemaversion>2004 4th Edition</schemaversion></metadata>
  <organizations default="org">
    <organization identifier="org">
      <title>流程 Flow</title>
      <item identifier="one" identifierref="sco-1"><title>第一節 One</title>{hide}</item>
      <item identifier="part"><title>第二部分 Part two</title>
        <item identifier="two" identifierref="sco-2"><title>第二節 Two</title></item>
        <item identifier="three" identifierref="sco-3"><title>第三節 Three</title></item>
        <imsss:sequencing><imsss:controlMode {cluster_mode}/></imsss:sequencing>
      </item>
      <imsss:sequencing><imsss:controlMode {organization_mode}/></imsss:sequencing>
    </organization>
  </organizations>
  <resources>
    <resource identifier="sco-1" type="webcontent" adlcp:scormType="sco" href="one.html">
      <file href="one.html"/></resource>
    <resource identifier="sco-2" type="webcontent" adlcp:scormType="sco" href="two.html">
      <file href="two.html"/></resource>
    <resource identifier="sco-3" type="webcontent" adlcp:scormType="sco" href="three.html">
      <file href="three.html"/></resource>
  </resources>
</manifest>
"""

# A SCORM 2004 SCO that shows its name and what adl.nav.request_valid answers for continue and
# previous; its button completes it and asks, through adl.nav.request, to continue.
NAVIGATING_SCO = """<!doctype html><html lang="en"><head><title>{name}</title><script>
function findAPI(w){{var n=0;while(!w.API_1484_11&&w.parent&&w.parent!==w&&n<10){{w=w.parent;n++}}
return w.API_1484_11}}
window.addEventListener("load",function(){{
var api=findAPI(window);
if(!api){{document.getElementById("valid").textContent="no API";return}}
api.Initialize("");
document.getElementById("valid").textContent=api.GetValue("adl.nav.request_valid.continue")+
"/"+api.GetValue("adl.nav.request_valid.previous");
document.getElementById("next").addEventListener("click",function(){{
api.SetValue("cmi.completion_status","completed");api.SetValue("cmi.exit","normal");
api.SetValue("adl.nav.request","continue");api.Terminate("");}});
}});
</script></head><body><h1 id="name">{name}</h1><p id="valid"></p>
<button type="button" id="next">next</button></body></html>"""

HIDE_LMS_UI = (
    "<adlnav:presentation><adlnav:navigationInterface>{}</adlnav:navigationInterface>"
    "</adlnav:presentation>"
)


def scorm2004_flow(
    path: Path,
    *,
    organization_mode: str = 'flow="true"',
    cluster_mode: str = 'flow="true"',
    hide: tuple[str, ...] = (),
) -> Path:
    """A SCORM 2004 package: SCO "one", then cluster "part" with SCOs "two" and "three"; the
    control modes are imsss:controlMode attributes, ``hide`` item one's hideLMSUI values."""
    hidden = "".join(f"<adlnav:hideLMSUI>{value}</adlnav:hideLMSUI>" for value in hide)
    manifest = MANIFEST_2004_FLOW.format(
        organization_mode=organization_mode,
        cluster_mode=cluster_mode,
        hide=HIDE_LMS_UI.format(hidden) if hide else "",
    )
    pages = {f"{name}.html": NAVIGATING_SCO.format(name=name) for name in ("one", "two", "three")}
    return build_zip(path, {"imsmanifest.xml": manifest, **pages})


# A SCO with two questions, as a learner meets one: it shows what the run-time API gave it on
# launch (entry, bookmark, suspend data), starts at the bookmark, and commits a suspended session
# after the first answer (bookmark "q2", the answer in suspend data); the second answer scores
# both (50 points each), sets passed or failed and finishes.
QUIZ_SCO = b"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Quiz</title>
<script>
function findAPI(w){var n=0;while(!w.API&&w.parent&&w.parent!==w&&n<10){w=w.parent;n++}return w.API}
var api=null;
function show(id,v){document.getElementById(id).textContent=String(v)}
function choice(name){
var c=document.querySelector("input[name="+name+"]:checked");return c?c.value:""}
function record(question,answer,correct){
var p="cmi.interactions."+api.LMSGetValue("cmi.interactions._count")+".";
api.LMSSetValue(p+"id",question);api.LMSSetValue(p+"type","choice");
api.LMSSetValue(p+"student_response",answer);api.LMSSetValue(p+"result",correct?"correct":"wrong");
}
function next(){
var a=choice("q1");record("q1",a,a==="b");
api.LMSSetValue("cmi.core.lesson_status","incomplete");
api.LMSSetValue("cmi.core.lesson_location","q2");
api.LMSSetValue("cmi.suspend_data","q1="+a);
api.LMSSetValue("cmi.core.exit","suspend");
show("saved",api.LMSCommit(""));
document.getElementById("q1").hidden=true;document.getElementById("q2").hidden=false;
}
function finish(){
var a=choice("q2");record("q2",a,a==="a");
var first=/(^|;)q1=b(;|$)/.test(api.LMSGetValue("cmi.suspend_data"));
var score=(first?50:0)+(a==="a"?50:0);
api.LMSSetValue("cmi.core.score.min","0");api.LMSSetValue("cmi.core.score.max","100");
api.LMSSetValue("cmi.core.score.raw",String(score));
api.LMSSetValue("cmi.core.lesson_status",score>=80?"passed":"failed");
api.LMSSetValue("cmi.core.exit","");
show("finished",api.LMSFinish(""));
}
window.addEventListener("load",function(){
api=findAPI(window);
if(!api){show("entry","no API");return}
api.LMSInitialize("");
var where=api.LMSGetValue("cmi.core.lesson_location");
show("entry",api.LMSGetValue("cmi.core.entry"));show("location",where);
show("suspend",api.LMSGetValue("cmi.suspend_data"));
show("mastery",api.LMSGetValue("cmi.student_data.mastery_score"));
document.getElementById(where==="q2"?"q2":"q1").hidden=false;
document.getElementById("next").addEventListener("click",next);
document.getElementById("finish").addEventListener("click",finish);
});
</script></head><body><main>
<p>entry=<span id="entry"></span> location=<span id="location"></span>
suspend=<span id="suspend"></span> saved=<span id="saved"></span>
finished=<span id="finished"></span> mastery=<span id="mastery"></span></p>
<fieldset id="q1" hidden><legend>Q1: 2 + 2 = ?</legend>
<label><input type="radio" name="q1" value="a"> 3</label>
<label><input type="radio" name="q1" value="b"> 4</label>
<button type="button" id="next">Next</button></fieldset>
<fieldset id="q2" hidden><legend>Q2: 3 x 3 = ?</legend>
<label><input type="radio" name="q2" value="a"> 9</label>
<label><input type="radio" name="q2" value="b"> 6</label>
<button type="button" id="finish">Finish</button></fieldset>
</main></body></html>"""


def scorm12_quiz(path: Path, title: str = "測驗 Quiz") -> Path:
    """A SCORM 1.2 single-SCO package whose SCO asks two questions, bookmarking between them."""
    return _scorm12_sco(path, title, QUIZ_SCO)


CMI5_NS = "https://w3id.org/xapi/profiles/cmi5/v1/CourseStructure.xsd"
CMI5_COURSE = "https://example.gov.tw/courses/security"


def cmi5_texts(zh: str, en: str) -> str:
    """A cmi5 textType's langstrings in Traditional Chinese and English."""
    return f'<langstring lang="zh-TW">{zh}</langstring><langstring lang="en">{en}</langstring>'


def cmi5_au(key: str, url: str, attributes: str = "", inner: str = "") -> str:
    """An ``<au>`` with the id ``CMI5_COURSE/au/key``, titles in both languages and ``url``."""
    return (
        f'<au id="{CMI5_COURSE}/au/{key}" {attributes}>'
        f"<title>{cmi5_texts('單元 ' + key, 'Unit ' + key)}</title>"
        f"<description>{cmi5_texts('說明 ' + key, 'About ' + key)}</description>"
        f"{inner}<url>{url}</url></au>"
    )


def cmi5_xml(body: str, objectives: str = "") -> str:
    """A course structure whose course holds ``body`` (AUs and blocks) and ``objectives``."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<courseStructure xmlns="{CMI5_NS}">'
        f'<course id="{CMI5_COURSE}"><title>{cmi5_texts("資安課程", "Security course")}</title>'
        f"<description>{cmi5_texts('資安基礎', 'Security basics')}</description></course>"
        f"{objectives}{body}</courseStructure>"
    )


CMI5_OBJECTIVES = (
    f'<objectives><objective id="{CMI5_COURSE}/objective/phishing">'
    f"<title>{cmi5_texts('辨識釣魚郵件', 'Spot phishing')}</title>"
    f"<description>{cmi5_texts('看出可疑郵件', 'Tell suspicious mail')}</description>"
    f'</objective><objective id="{CMI5_COURSE}/objective/passwords">'
    f"<title>{cmi5_texts('密碼管理', 'Passwords')}</title>"
    f"<description>{cmi5_texts('設定強密碼', 'Strong passwords')}</description>"
    "</objective></objectives>"
)

# A block "basics" with AUs "intro" (defaults) and "quiz" (every attribute and element set),
# then at the top an AU "video" at an absolute URL.
CMI5_BODY = (
    f'<block id="{CMI5_COURSE}/block/basics">'
    f"<title>{cmi5_texts('基礎', 'Basics')}</title>"
    f"<description>{cmi5_texts('基礎單元', 'The basic units')}</description>"
    f'<objectives><objective idref="{CMI5_COURSE}/objective/phishing"/></objectives>'
    + cmi5_au("intro", "intro/index.html")
    + cmi5_au(
        "quiz",
        "quiz/index.html?start=1",
        'moveOn="CompletedAndPassed" masteryScore="0.8" launchMethod="OwnWindow" '
        'activityType="http://adlnet.gov/expapi/activities/assessment"',
        f'<objectives><objective idref="{CMI5_COURSE}/objective/passwords"/></objectives>',
    ).replace(
        "</url>",
        "</url><launchParameters>level=2</launchParameters>"
        "<entitlementKey>key-123</entitlementKey>",
    )
    + "</block>"
    + cmi5_au("video", "https://video.example.gov.tw/au/video.html", 'moveOn="Completed"')
)

AU_PAGE = b"<!doctype html><html><head><title>AU</title></head><body>AU</body></html>"


def cmi5_course(path: Path, structure: str | None = None, **extra: bytes | str) -> Path:
    """A cmi5 zip: ``cmi5.xml`` (the course above unless given) and the AUs' pages."""
    files: dict[str, bytes | str] = {
        "cmi5.xml": structure if structure is not None else cmi5_xml(CMI5_BODY, CMI5_OBJECTIVES),
        "intro/index.html": AU_PAGE,
        "quiz/index.html": AU_PAGE,
    }
    return build_zip(path, {**files, **extra})
