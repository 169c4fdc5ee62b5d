"""The widgets in JupyterLab and Notebook 7, driven with the mouse and keyboard in Chromium.

No model is trained here: the Review and Dashboard tests store a fake prediction first
(tests/fakes.py), so the whole module takes well under a minute once JupyterLab is up.
Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
from fakes import fake_prediction
from jupyter_driver import (
    ARTIFACTS,
    NOTEBOOK,
    REPO,
    Lab,
    open_notebook,
    run_cells,
    wait_idle,
    write_notebook,
)

import microlab as ml

SETUP = "import microlab as ml\nproject = ml.Project.open({path!r})"

# Stands in for project.step in the browser (no training here): the same progress bars (fastprogress
# while training, tqdm.auto while predicting), then a stored prediction.
RUN_STEP_FAKE = f"""
import sys, time
sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
from fakes import fake_prediction
import fastai.callback.progress as fastai_progress  # the names fastai's training bars come from
from tqdm.auto import tqdm
from microlab.loop import IterationReport

def fake_step(progress=True):
    epochs = fastai_progress.master_bar(range(2))
    for _ in epochs:
        for _ in fastai_progress.progress_bar(range(4), parent=epochs):
            time.sleep(0.2)
    for _ in tqdm(range(project.n_frames), desc="predict"):
        time.sleep(0.01)
    it = fake_prediction(project, {{f: (60, 50, 110, 130) for f in range(1, project.n_frames)}},
                         confidence=0.9)
    return IterationReport(it, [], 1.0, 0.5, 1, 0.9, [])

project.step = fake_step
"""


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"browser_{name}.png"), full_page=True)


def status_text(page, nth: int = 0) -> str:
    return page.locator(f"{NOTEBOOK} .microlab-status").nth(nth).inner_text()


def wait_status(page, pattern: str, *, nth: int = 0, timeout_s: float = 30) -> str:
    """Wait until the nth widget's status line matches ``pattern``; returns it."""
    deadline = time.monotonic() + timeout_s
    text = ""
    while time.monotonic() < deadline:
        text = status_text(page, nth)
        if re.search(pattern, text):
            return text
        time.sleep(0.2)
    raise AssertionError(f"status never matched {pattern!r}; last: {text!r}")


def drawing(page, nth: int = 0):
    """The nth bbox widget's SVG drawing surface and its on-screen box."""
    svg = page.locator(f"{NOTEBOOK} .microlab-widget svg").nth(nth)
    svg.wait_for()
    svg.scroll_into_view_if_needed()
    return svg, svg.bounding_box()


def drag(page, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    for i in range(1, 11):  # several moves: the widget follows the pointer like a person's drag
        page.mouse.move(start[0] + (end[0] - start[0]) * i / 10,
                        start[1] + (end[1] - start[1]) * i / 10)
    page.mouse.up()


def to_image(point: tuple[float, float], box: dict, size: tuple[int, int]) -> tuple[float, float]:
    """Screen point -> image pixels of a frame ``size`` shown in ``box``."""
    return ((point[0] - box["x"]) * size[0] / box["width"],
            (point[1] - box["y"]) * size[1] / box["height"])


def tagged_cell(notebook: Path, tag: str) -> int:
    nb = nbformat.read(notebook, as_version=4)
    return next(i for i, c in enumerate(nb.cells) if tag in c.metadata.get("tags", []))


@pytest.fixture(scope="module")
def clip(lab: Lab):
    """A short demo clip inside the served folder."""
    return ml.demo_clip(lab.root / "clip", n_frames=40, size=(320, 192), seed=2)


SHIFT = (-20.0, -10.0)  # how far off the object the fake model's box on frame 35 is (image px)


def _project(lab: Lab, clip, name: str) -> Path:
    """A project with a human box on frame 0 and a fake prediction: right on frame 16, off
    the object by ``SHIFT`` on frame 35, "absent" on frame 27 (where it is)."""
    path = lab.root / name
    for leftover in lab.root.glob(f"{name}*"):
        leftover.unlink()
    truth = clip.ground_truth
    with ml.Project.open(path, video=clip.path) as project:
        project.draw_box(0, truth[0])
        off = truth[35] + np.array([*SHIFT, *SHIFT])
        fake_prediction(project, {16: truth[16], 35: off, 27: None}, confidence=0.45,
                        reason="low score")
    return path


# ---------------------------------------------------------------------- annotator
def test_quickstart_annotator_draw_and_enter(lab: Lab, page) -> None:
    notebook = shutil.copy(REPO / "notebooks" / "quickstart.ipynb", lab.root / "quickstart.ipynb")
    for leftover in lab.root.glob("quickstart.mlab*"):
        leftover.unlink()
    cell = tagged_cell(Path(notebook), "annotator")
    open_notebook(page, lab, "quickstart.ipynb")
    run_cells(page, cell + 1)  # set-up and markdown cells, then the Annotator
    _, box = drawing(page)
    shot(page, "annotator_shown")
    assert box["width"] > 200
    assert box["height"] > 100

    # Box the object where the demo clip's ground truth says it is (any frame the sampler chose).
    header = page.locator(f"{NOTEBOOK} .microlab-widget").first.inner_text()
    shown = int(re.search(r"clip frame (\d+) of", header).group(1))
    size = (384, 256)
    truth = ml.demo_clip().ground_truth[shown]
    if np.isnan(truth).any():  # object out of view: any box will do for this test
        truth = np.array([0.3 * size[0], 0.25 * size[1], 0.55 * size[0], 0.7 * size[1]])
    start = (box["x"] + truth[0] * box["width"] / size[0],
             box["y"] + truth[1] * box["height"] / size[1])
    end = (box["x"] + truth[2] * box["width"] / size[0],
           box["y"] + truth[3] * box["height"] / size[1])
    drag(page, start, end)
    page.wait_for_selector(f"{NOTEBOOK} .microlab-widget svg rect.movable")
    widget = page.locator(f"{NOTEBOOK} .microlab-widget").first
    widget.screenshot(path=str(ARTIFACTS / "browser_annotator_drawn.png"))
    page.keyboard.press("Enter")
    text = wait_status(page, r"Saved frame \d+")
    time.sleep(0.5)
    widget.screenshot(path=str(ARTIFACTS / "browser_annotator_saved.png"))
    # The next frame starts clean: the box just saved is not drawn on it.
    assert page.locator(f"{NOTEBOOK} .microlab-widget svg rect.movable").count() == 0

    frame = int(re.search(r"Saved frame (\d+)", text).group(1))
    assert frame == shown
    with ml.Project.open(lab.root / "quickstart.mlab") as project:  # the store, read by the test
        assert project.frame_size == size
        label = project.label(frame)
        totals = project.action_totals()
    assert label.verified
    (stored,) = label.boxes
    expected = (*to_image(start, box, size), *to_image(end, box, size))
    assert np.allclose(stored.xyxy, expected, atol=2.0), (stored.xyxy, expected)
    assert stored.source == "human"
    assert totals == {"actions": 1, "frames_viewed": 1}
    assert "frame 2 of 5" in page.locator(f"{NOTEBOOK} .microlab-widget").first.inner_text()


# ---------------------------------------------------------------------- review
def test_review_accept_and_correct(lab: Lab, page, clip) -> None:
    path = _project(lab, clip, "review.mlab")
    write_notebook(lab.root / "review.ipynb", [
        SETUP.format(path=path.name) + "\nreview = ml.Review(project, frames=[16, 35])\nreview",
    ])
    open_notebook(page, lab, "review.ipynb")
    run_cells(page, 1)
    _, box = drawing(page)
    page.wait_for_selector(f"{NOTEBOOK} .microlab-widget svg rect.movable")
    widget = page.locator(f"{NOTEBOOK} .microlab-widget").first
    assert "score 0.60 (model)" in widget.inner_text()
    assert page.locator(f"{NOTEBOOK} .microlab-filmstrip img").count() == 2
    widget.screenshot(path=str(ARTIFACTS / "browser_review_shown.png"))

    page.get_by_role("button", name="Accept").click()
    wait_status(page, r"Accepted frame 16")
    with ml.Project.open(path) as project:
        assert project.label(16).verified
        assert np.allclose([b.xyxy for b in project.label(16).boxes], [clip.ground_truth[16]])
        # the set-up box, then 0
        assert project.action_totals() == {"actions": 1, "frames_viewed": 2}

    # Frame 35: the model's box is off the object; drag it onto the object, then Enter.
    time.sleep(0.5)
    _, box = drawing(page)
    size = clip.frames.size
    x0, y0, x1, y1 = clip.ground_truth[35] + np.array([*SHIFT, *SHIFT])
    scale = box["width"] / size[0], box["height"] / size[1]
    centre = (box["x"] + (x0 + x1) / 2 * scale[0], box["y"] + (y0 + y1) / 2 * scale[1])
    drag(page, centre, (centre[0] - SHIFT[0] * scale[0], centre[1] - SHIFT[1] * scale[1]))
    widget.screenshot(path=str(ARTIFACTS / "browser_review_moved.png"))
    page.keyboard.press("Enter")
    text = wait_status(page, r"Saved frame 35")
    assert "1 correction" in text
    time.sleep(0.5)
    widget.screenshot(path=str(ARTIFACTS / "browser_review_saved.png"))
    with ml.Project.open(path) as project:
        (moved,) = project.label(35).boxes
        kinds = [a.kind for a in project.actions()]
        totals = project.action_totals()
    assert np.allclose(moved.xyxy, clip.ground_truth[35], atol=2.0), moved.xyxy
    assert kinds == ["draw", "accept", "correct"]
    assert totals == {"actions": 2, "frames_viewed": 3}
    assert "Batch done" in widget.inner_text()
    # nothing left to answer
    assert page.locator(f"{NOTEBOOK} .microlab-widget svg").first.is_hidden()


# ---------------------------------------------------------------------- dashboard
def test_dashboard_plot_and_timeline_click(lab: Lab, page, clip) -> None:
    path = _project(lab, clip, "dashboard.mlab")
    write_notebook(lab.root / "dashboard.ipynb", [
        SETUP.format(path=path.name) + "\ndashboard = ml.Dashboard(project)\ndashboard",
        # Where frame 25 is on the timeline strip, as fractions of the canvas (after layout).
        ("fig = dashboard.clip_fig\nfig.draw_without_rendering()\n"
         "x, y = fig.axes[1].transData.transform((25, 0.5))\n"
         "w, h = fig.canvas.get_width_height()\nprint(x / w, 1 - y / h)"),
        "print('review frame', dashboard.review.frame if dashboard.review else None)",
        RUN_STEP_FAKE,
    ])
    open_notebook(page, lab, "dashboard.ipynb")
    run_cells(page, 1)
    canvas = page.locator(f"{NOTEBOOK} .microlab-figure canvas").first
    canvas.wait_for()
    canvas.scroll_into_view_if_needed()
    time.sleep(1.0)
    page.locator(f"{NOTEBOOK} .microlab-widget").first.screenshot(
        path=str(ARTIFACTS / "browser_dashboard_shown.png"))
    rect = canvas.bounding_box()
    assert rect["width"] > 500, rect
    assert rect["height"] > 200, rect
    # Drawn, not blank: many distinct colours on the canvas.
    colours = canvas.evaluate(
        """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                  const seen = new Set();
                  for (let i = 0; i < d.length; i += 4 * 7)
                      seen.add(d[i] << 16 | d[i+1] << 8 | d[i+2]);
                  return seen.size; }"""
    )
    assert colours > 50, colours
    progress = page.locator(f"{NOTEBOOK} .microlab-figure canvas").nth(1).bounding_box()
    assert progress["width"] > 500
    assert progress["height"] > 300

    # Click the timeline strip at frame 25: Review opens below with that frame.
    run_cells(page, 1, first=1)
    out = page.locator(f"{NOTEBOOK} .jp-Cell").nth(1).locator(".jp-OutputArea-output").inner_text()
    fx, fy = (float(v) for v in out.split())
    canvas.scroll_into_view_if_needed()  # running the cell scrolled the notebook
    rect = canvas.bounding_box()
    page.mouse.click(rect["x"] + fx * rect["width"], rect["y"] + fy * rect["height"])
    page.get_by_text(re.compile(r"Frame \d+ is open in Review")).wait_for(timeout=30_000)
    opened = page.locator(f"{NOTEBOOK} .microlab-widget .microlab-widget").first  # Review inside
    opened.scroll_into_view_if_needed()
    time.sleep(0.5)
    shot(page, "dashboard_clicked")
    run_cells(page, 1, first=2)
    out = page.locator(f"{NOTEBOOK} .jp-Cell").nth(2).locator(".jp-OutputArea-output").inner_text()
    assert out.split()[-1] == "25", out
    review = page.locator(f"{NOTEBOOK} .microlab-widget", has_text="Review")
    assert review.count() >= 1

    # "Run next iteration": progress bars in the Dashboard while it runs, then new figures.
    run_cells(page, 1, first=3)  # project.step replaced by a fake with the same progress bars
    button = page.get_by_role("button", name="Run next iteration")
    button.scroll_into_view_if_needed()
    dashboard = page.locator(f"{NOTEBOOK} .microlab-widget").first
    pixels = """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                       let h = 0;
                       for (let i = 0; i < d.length; i += 4 * 3)
                           h = (h * 31 + d[i] + 7 * d[i+1]) % 1000000007;
                       return h; }"""
    before = canvas.evaluate(pixels)
    button.click()
    seen = set()  # the training bar's states as the browser showed them while it ran
    deadline = time.monotonic() + 60
    while "Iteration 2: trained" not in status_text(page) and time.monotonic() < deadline:
        seen.update(re.findall(r"\d+\.\d+% \[\d/4", dashboard.inner_text()))
        time.sleep(0.05)
    wait_status(page, r"Iteration 2: trained", nth=0)
    assert len(seen) >= 2, seen  # the bar moved in the browser (not frozen at its first drawing)
    text = dashboard.inner_text()
    assert "iteration 2" in text
    assert "Epoch 2/2" in text
    assert "predict" in text  # tqdm's bar (prediction)
    # The clip figure is redrawn for the new iteration (ipympl sends the new image asynchronously).
    deadline = time.monotonic() + 20
    while canvas.evaluate(pixels) == before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert canvas.evaluate(pixels) != before, "the clip figure was not redrawn after the iteration"
    time.sleep(0.5)
    dashboard.screenshot(path=str(ARTIFACTS / "browser_dashboard_after_run.png"))


def _annotator_notebook(lab: Lab, video: Path, name: str, frames: str = "frames=[5, 6]") -> Path:
    """A new, empty project ``<name>.mlab`` on ``video`` and ``<name>.ipynb`` showing an
    Annotator (``frames`` are its arguments after the project); returns the project path."""
    path = lab.root / f"{name}.mlab"
    for leftover in lab.root.glob(f"{name}.mlab*"):
        leftover.unlink()
    ml.Project.open(path, video=video).close()
    args = f", {frames}" if frames else ""
    write_notebook(lab.root / f"{name}.ipynb", [
        SETUP.format(path=path.name) + f"\nannotator = ml.Annotator(project{args})\nannotator",
    ])
    return path


# ---------------------------------------------------------------------- notebook 7
def test_notebook7_annotator(lab: Lab, page, clip) -> None:
    path = _annotator_notebook(lab, clip.path, "nb7")
    page.goto(f"http://127.0.0.1:{lab.port}/notebooks/nb7.ipynb?token={lab.token}")
    # Notebook 7: one notebook per page
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
    wait_idle(page)
    run_cells(page, 1)
    _, box = drawing(page)
    start = (box["x"] + 0.2 * box["width"], box["y"] + 0.2 * box["height"])
    end = (box["x"] + 0.5 * box["width"], box["y"] + 0.6 * box["height"])
    drag(page, start, end)
    page.keyboard.press("Enter")
    wait_status(page, r"Saved frame 5")
    shot(page, "notebook7_saved")
    with ml.Project.open(path) as project:
        (stored,) = project.label(5).boxes
        size = project.frame_size
    expected = (*to_image(start, box, size), *to_image(end, box, size))
    assert np.allclose(stored.xyxy, expected, atol=2.0), (stored.xyxy, expected)


# ---------------------------------------------------------------------- scrubber and zoom
def _click_title(page, title: str, times: int = 1) -> None:
    button = page.locator(f'{NOTEBOOK} .microlab-widget button[title="{title}"]').first
    for _ in range(times):
        button.click()
        time.sleep(0.4)


def _pan_to(page, view, xyxy, size: tuple[int, int]):
    """Click the zoom's arrow buttons until box ``xyxy`` (frame px) is inside the view; returns
    the view the widget then shows (each click moves half a view, kept inside the frame)."""
    from microlab.widgets._common import ZoomView

    icons = {(1, 0): "arrow-right", (-1, 0): "arrow-left", (0, 1): "arrow-down",
             (0, -1): "arrow-up"}
    margin = 2.0
    for _ in range(16):
        w, h = view.size(size)
        if xyxy[0] < view.x + margin:
            dx, dy = -1, 0
        elif xyxy[2] > view.x + w - margin:
            dx, dy = 1, 0
        elif xyxy[1] < view.y + margin:
            dx, dy = 0, -1
        elif xyxy[3] > view.y + h - margin:
            dx, dy = 0, 1
        else:
            break
        page.locator(f"{NOTEBOOK} .microlab-widget "
                     f"button:has(i.fa-{icons[(dx, dy)]})").first.click()
        time.sleep(0.4)
        cx, cy = view.centre(size)
        view = ZoomView.around((cx + dx * w / 2, cy + dy * h / 2), view.factor, size)
    return view


def _inside(view, xyxy, size, margin: float = 2.0) -> bool:
    w, h = view.size(size)
    return (xyxy[0] >= view.x + margin and xyxy[1] >= view.y + margin
            and xyxy[2] <= view.x + w - margin and xyxy[3] <= view.y + h - margin)


def _box_in_zoom(page, xyxy, view, size) -> tuple[float, ...]:
    """Drag ``xyxy`` (frame px) on the zoomed drawing; returns where the drag lands, in frame px."""
    _, box = drawing(page)
    f = view.factor
    crop = (view.size(size)[0] * f, view.size(size)[1] * f)  # the enlarged crop's pixels
    start = (box["x"] + (xyxy[0] - view.x) * f * box["width"] / crop[0],
             box["y"] + (xyxy[1] - view.y) * f * box["height"] / crop[1])
    end = (box["x"] + (xyxy[2] - view.x) * f * box["width"] / crop[0],
           box["y"] + (xyxy[3] - view.y) * f * box["height"] / crop[1])
    drag(page, start, end)
    page.wait_for_selector(f"{NOTEBOOK} .microlab-widget svg rect.movable")
    sx, sy = to_image(start, box, crop)
    ex, ey = to_image(end, box, crop)
    return (sx / f + view.x, sy / f + view.y, ex / f + view.x, ey / f + view.y)


def test_scrub_box_this_frame_and_draw_zoomed(lab: Lab, page, clip) -> None:
    from microlab.widgets._common import ZoomView

    path = _annotator_notebook(lab, clip.path, "scrub")
    open_notebook(page, lab, "scrub.ipynb")
    run_cells(page, 1)
    drawing(page)
    widget = page.locator(f"{NOTEBOOK} .microlab-widget").first
    _click_title(page, "look at the next clip frame", times=3)
    page.get_by_text(re.compile(r"looking at clip frame 8 of 40")).wait_for(timeout=20_000)
    widget.screenshot(path=str(ARTIFACTS / "browser_scrub_looking.png"))
    # The slider itself: a keyboard step on its handle looks one frame further.
    page.locator(f"{NOTEBOOK} .microlab-widget .noUi-handle").first.focus()
    page.keyboard.press("ArrowRight")
    page.get_by_text(re.compile(r"looking at clip frame 9 of 40")).wait_for(timeout=20_000)
    page.get_by_role("button", name="Box this frame").click()
    page.get_by_text(re.compile(r"frame 1 of 3 \(clip frame 9 of 40\)")).wait_for(timeout=20_000)

    page.get_by_role("button", name="4x").click()
    page.get_by_text(re.compile(r"zoom 4x")).wait_for(timeout=20_000)
    size = clip.frames.size
    view = ZoomView.around((size[0] / 2, size[1] / 2), 4, size)  # no box yet: the frame's middle
    tiny = (view.x + 20, view.y + 12, view.x + 26, view.y + 22)  # 6x10 px in a 320x192 frame
    expected = _box_in_zoom(page, tiny, view, size)
    widget.screenshot(path=str(ARTIFACTS / "browser_zoom_drawn.png"))
    time.sleep(1.0)  # as a person would: not within the debounce after the frame appeared
    page.keyboard.press("Enter")
    wait_status(page, r"Saved frame 9")
    with ml.Project.open(path) as project:
        (stored,) = project.label(9).boxes
        totals = project.action_totals()
    # Stored in frame pixels: a 2 px error on screen is half a pixel at 4x.
    assert np.allclose(stored.xyxy, expected, atol=0.6), (stored.xyxy, expected)
    assert np.allclose(stored.xyxy, tiny, atol=1.0), (stored.xyxy, tiny)
    assert totals == {"actions": 1, "frames_viewed": 1}


def test_two_boxes_of_two_classes_on_one_frame_each_a_new_object(lab: Lab, page, clip) -> None:
    """Several objects: draw one box as the default class, pick the other class in the widget's
    class list, draw a second box, press Enter; the store holds two boxes, two classes, two
    tracks (new objects get identities of their own)."""
    path = lab.root / "objects.mlab"
    for leftover in lab.root.glob("objects.mlab*"):
        leftover.unlink()
    ml.Project.open(path, video=clip.path, classes=["walker", "cart"]).close()
    write_notebook(lab.root / "objects.ipynb", [
        SETUP.format(path=path.name) + "\nannotator = ml.Annotator(project, [3], tracks=True)"
        "\nannotator",
    ])
    open_notebook(page, lab, "objects.ipynb")
    run_cells(page, 1)
    _svg, box = drawing(page)
    size = clip.frames.size
    widget = page.locator(f"{NOTEBOOK} .microlab-widget").first

    def screen(x: float, y: float) -> tuple[float, float]:
        return box["x"] + x * box["width"] / size[0], box["y"] + y * box["height"] / size[1]

    # More objects are there, left for the model to propose: the frame is partly boxed (ticked
    # off first: the drawing must have the keyboard's focus for Enter).
    checkbox = widget.get_by_role("checkbox", name="Every object is boxed")
    assert checkbox.is_checked()
    checkbox.click()
    page.wait_for_function(
        f"!document.querySelector('{NOTEBOOK} .microlab-widget input[type=checkbox]').checked")
    time.sleep(1.0)
    drag(page, screen(20, 20), screen(60, 90))
    page.wait_for_selector(f"{NOTEBOOK} .microlab-widget svg rect.movable")
    # the class list of the drawing: each class, with tracks its known objects
    widget.locator(".classes").get_by_text("cart").first.click()
    drag(page, screen(200, 100), screen(280, 150))
    page.wait_for_function(
        f"document.querySelectorAll('{NOTEBOOK} .microlab-widget svg rect.movable').length >= 2")
    widget.screenshot(path=str(ARTIFACTS / "browser_two_classes_drawn.png"))
    time.sleep(1.0)
    page.keyboard.press("Enter")
    text = wait_status(page, r"Saved frame 3")
    assert "Identities proposed" in text
    with ml.Project.open(path) as project:
        boxes = sorted(project.label(3).boxes, key=lambda b: b.xyxy[0])
        totals = project.action_totals()
        partial = project.partial_frames()
    assert [project.classes[b.class_id] for b in boxes] == ["walker", "cart"]
    assert len({b.track_id for b in boxes}) == 2
    assert None not in {b.track_id for b in boxes}
    assert np.allclose(boxes[0].xyxy, (20, 20, 60, 90), atol=2.5)
    assert np.allclose(boxes[1].xyxy, (200, 100, 280, 150), atol=2.5)
    assert totals == {"actions": 2, "frames_viewed": 1}
    assert partial == [3]


def _iou(a, b) -> float:
    from microlab.boxes import box_iou

    return float(box_iou(np.array([a], float), np.array([b], float))[0, 0])


@pytest.mark.slow
@pytest.mark.needs_shared_data
def test_film_like_scene_find_and_box_tiny_people(lab: Lab, page, shared_sequences) -> None:
    """The newcomer's walk: an edited scene (drone shots of a small group, 8-20 px tall at
    640x360, intercut with three other clips), the Annotator's five frames, more frames while
    nothing was boxed, the scrubber to a frame with the target, and tiny boxes drawn at 4x."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    from microlab.widgets._common import ZoomView

    others = [shared_sequences / n for n in ("otb_basketball", "vot2015_bag", "otb_crossing")]
    scene = ml.edited_scene(shared_sequences / "uav123_group2_2", others, lab.root / "scene_walk",
                            size=(640, 360), seed=0)
    truth, size = scene.ground_truth, scene.frames.size
    path = _annotator_notebook(lab, scene.path, "walk", frames="")
    open_notebook(page, lab, "walk.ipynb")
    run_cells(page, 1, timeout_s=300)  # the first Annotator scans the clip once
    drawing(page)
    widget = page.locator(f"{NOTEBOOK} .microlab-widget").first

    def shown_frame() -> int:
        return int(re.search(r"clip frame (\d+) of", widget.inner_text()).group(1))

    def box_truth(frame: int, name: str) -> tuple[float, ...]:
        if "zoom 4x" not in widget.inner_text():
            page.get_by_role("button", name="4x").click()
            page.get_by_text(re.compile(r"zoom 4x")).wait_for(timeout=20_000)
        with ml.Project.open(path) as project:  # where the widget centred the view (read-only look)
            human = {f: d for f, d in project.human_labels().items() if len(d)}
        t = truth[frame]
        if human:  # a new frame at a zoom: the view goes to the nearest human box
            near = min(human, key=lambda f: abs(f - frame))
            x0, y0, x1, y1 = human[near].xyxy[0]
            start = ZoomView.around(((x0 + x1) / 2, (y0 + y1) / 2), 4, size)
        else:
            start = ZoomView.around((size[0] / 2, size[1] / 2), 4, size)
        view = _pan_to(page, start, t, size)
        assert _inside(view, t, size), (view, t)
        drawn = _box_in_zoom(page, t, view, size)
        widget.screenshot(path=str(ARTIFACTS / f"browser_walk_{name}.png"))
        rects = page.locator(f"{NOTEBOOK} .microlab-widget svg rect.movable")
        for attempt in range(3):
            # A person takes longer than the debounce between a new frame and Enter; on a loaded
            # machine the kernel may show the frame later than the browser saw the last status.
            time.sleep(1.0)
            # Click the drawn box first (the README: click the image so Enter reaches the
            # drawing): a button clicked earlier, e.g. "Object absent", may still hold the
            # keyboard focus, and Enter would press it.
            rects.first.click()
            page.keyboard.press("Enter")
            try:
                wait_status(page, rf"Saved frame {frame}: \d+ box", timeout_s=20)
                return drawn
            except AssertionError:
                # Enter did not save the box (on a loaded machine a late redraw of the panned
                # view can clear it): as a person would, draw it again if it is gone, click it
                # and press Enter again.
                widget.screenshot(path=str(ARTIFACTS / f"browser_walk_{name}_retry{attempt}.png"))
                if not rects.count():
                    drawn = _box_in_zoom(page, t, view, size)
        raise AssertionError(f"frame {frame}: Enter never saved the box")

    seen: list[int] = []
    boxed: dict[int, tuple[float, ...]] = {}
    for i in range(5):  # the sampler's five frames
        frame = shown_frame()
        seen.append(frame)
        widget.screenshot(path=str(ARTIFACTS / f"browser_walk_initial_{i + 1}.png"))
        if np.isnan(truth[frame]).any():
            time.sleep(1.0)  # a person looks at the frame before answering (and the debounce)
            page.get_by_role("button", name="Object absent").click()
            wait_status(page, rf"Saved frame {frame}")
            time.sleep(0.5)
        else:
            boxed[frame] = box_truth(frame, f"initial_{i + 1}_boxed")
    if not boxed:  # all five absent: the Annotator goes on with frames from unseen shots
        assert "No box yet" in status_text(page)
        for i in range(10):
            frame = shown_frame()
            assert frame not in seen
            seen.append(frame)
            if not np.isnan(truth[frame]).any():
                boxed[frame] = box_truth(frame, f"search_{i + 1}")
                break
            time.sleep(1.0)  # a person looks at the frame before answering (and the debounce)
            page.get_by_role("button", name="Object absent").click()
            wait_status(page, rf"Saved frame {frame}")
            time.sleep(0.5)
    assert boxed, "no frame with the target among the proposals"

    # The scrubber: click the slider's track far from the frames seen, then step to the target.
    present = np.flatnonzero(~np.isnan(truth).any(axis=1))
    target = int(present[np.argmax([min(abs(p - s) for s in seen) for p in present])])
    track = page.locator(f"{NOTEBOOK} .microlab-widget .noUi-base").first
    looking = page.get_by_text(re.compile(r"looking at clip frame \d+"))
    for _ in range(3):
        # The last answer hides the drawing, which moves the slider up: on a loaded machine
        # that happens after the status says "Saved", so the track is measured just before
        # each click, and a click that landed before the move is made again.
        time.sleep(1.0)
        track.scroll_into_view_if_needed()
        rect = track.bounding_box()
        page.mouse.click(rect["x"] + rect["width"] * target / (len(scene) - 1),
                         rect["y"] + rect["height"] / 2)
        try:
            looking.wait_for(timeout=15_000)
            break
        except PlaywrightTimeoutError:
            widget.screenshot(path=str(ARTIFACTS / "browser_walk_scrub_missed.png"))
    else:
        raise AssertionError("three clicks on the scrubber's track did not change the frame")
    landed = int(re.search(r"looking at clip frame (\d+)", widget.inner_text()).group(1))
    for _ in range(40):
        if not np.isnan(truth[landed]).any():
            break
        _click_title(page, "look at the next clip frame" if landed < target
                     else "look at the previous clip frame")
        landed = int(re.search(r"looking at clip frame (\d+)", widget.inner_text()).group(1))
    assert not np.isnan(truth[landed]).any()
    widget.screenshot(path=str(ARTIFACTS / "browser_walk_scrubbed.png"))
    page.get_by_role("button", name="Box this frame").click()
    page.get_by_text(re.compile(rf"\(clip frame {landed} of")).wait_for(timeout=20_000)
    boxed[landed] = box_truth(landed, "scrubbed_boxed")

    with ml.Project.open(path) as project:
        for frame, drawn in boxed.items():
            (stored,) = project.label(frame).boxes
            assert np.allclose(stored.xyxy, drawn, atol=0.6), (frame, stored.xyxy, drawn)
            assert _iou(stored.xyxy, truth[frame]) >= 0.8, (frame, stored.xyxy, truth[frame])
        heights = [truth[f][3] - truth[f][1] for f in boxed]
    assert min(heights) < 30  # these were small objects
