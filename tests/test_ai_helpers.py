"""Typed helpers of ONNX models (`detect_faces`, `embed`, `classify`, `generate`) on small real
graphs built here with onnx.helper and run by onnxruntime, and the reference's model example:
an extension registers a model and uses it without a separate UseModel grant."""
from __future__ import annotations

import io
import json

import numpy as np
import onnx
import pytest
from hypothesis import given, settings, strategies as st
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from core.ai import ConsentRequired, FaceDetection, ModelError, ModelRegistry, ModelSource, OnnxModel
from core.ai.helpers import Tokenizer
from core.extensions import Permission, PermissionDenied
from core.extensions.definition import extension
from core.extensions.manager import ExtensionManager
from core.jobs import job, task


def _model(nodes, inputs, outputs, inits=(), meta=None) -> bytes:
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    for k, v in (meta or {}).items():
        m.metadata_props.add(key=k, value=json.dumps(v))
    onnx.checker.check_model(m)
    return m.SerializeToString()


def _image(colour, size=(200, 100), fmt="PNG") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, fmt)
    return buf.getvalue()


BOXES = np.array([[0.25, 0.25, 0.75, 0.75],    # score = the image's mean brightness
                  [0.30, 0.30, 0.80, 0.80],    # 0.9, overlaps the first (IoU 0.68)
                  [0.00, 0.00, 0.10, 0.10]],   # 0.2, under the threshold
                 dtype=np.float32)


def face_detector_onnx() -> bytes:
    """boxes [3, 4] normalised; scores [3] = (mean brightness, 0.9, 0.2)."""
    h = helper
    return _model(
        [h.make_node("ReduceMean", ["image"], ["mean"], axes=[1, 2, 3], keepdims=0),
         h.make_node("Concat", ["mean", "rest"], ["scores"], axis=0),
         h.make_node("Identity", ["box_table"], ["boxes"])],
        [h.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 16, 16])],
        [h.make_tensor_value_info("boxes", TensorProto.FLOAT, [3, 4]),
         h.make_tensor_value_info("scores", TensorProto.FLOAT, [3])],
        [numpy_helper.from_array(BOXES, "box_table"),
         numpy_helper.from_array(np.array([0.9, 0.2], np.float32), "rest")])


def mean_colour_onnx(scale: float = 1.0, meta=None, nhwc: bool = False) -> bytes:
    """[1, 3] = the mean colour × scale (an embedding, or logits for red/green/blue)."""
    h = helper
    nodes = [h.make_node("Transpose", ["image"], ["nchw"], perm=[0, 3, 1, 2])] if nhwc else []
    src = "nchw" if nhwc else "image"
    nodes += [h.make_node("GlobalAveragePool", [src], ["pooled"]),
              h.make_node("Flatten", ["pooled"], ["flat"], axis=1),
              h.make_node("Mul", ["flat", "scale"], ["embedding"])]
    shape = [1, "h", "w", 3] if nhwc else [1, 3, 8, 8]
    return _model(nodes, [h.make_tensor_value_info("image", TensorProto.FLOAT, shape)],
                  [h.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, 3])],
                  [numpy_helper.from_array(np.array(scale, np.float32), "scale")], meta)


def bigram_lm_onnx(next_of: dict[int, int], vocab_size: int, meta=None) -> bytes:
    """logits [1, T, V]: one-hot of next_of[token] at every position (a bigram table)."""
    table = np.full((vocab_size, vocab_size), -5.0, np.float32)
    for a, b in next_of.items():
        table[a, b] = 5.0
    h = helper
    return _model([h.make_node("Gather", ["table", "input_ids"], ["logits"], axis=0)],
                  [h.make_tensor_value_info("input_ids", TensorProto.INT64, [1, "t"])],
                  [h.make_tensor_value_info("logits", TensorProto.FLOAT, [1, "t", vocab_size])],
                  [numpy_helper.from_array(table, "table")], meta)


def _load(tmp_path, data: bytes, name="m") -> OnnxModel:
    path = tmp_path / f"{name}.onnx"
    path.write_bytes(data)
    return OnnxModel(path, f"test:{name}")


def test_detect_faces_scales_boxes_to_the_image_and_suppresses_overlaps(tmp_path):
    model = _load(tmp_path, face_detector_onnx())
    white = model.detect_faces(_image("white"))
    assert [f.box for f in white] == [(50.0, 25.0, 100.0, 50.0)]       # 200×100 image
    assert white[0].score == pytest.approx(1.0)
    black = model.detect_faces(_image("black", size=(100, 100), fmt="JPEG"))
    assert [f.box for f in black] == [pytest.approx((30.0, 30.0, 50.0, 50.0))]
    assert black[0].score == pytest.approx(0.9)
    everything = model.detect_faces(_image("white"), min_score=0.0)
    assert [round(f.score, 2) for f in everything] == [1.0, 0.2]       # 0.9 suppressed by NMS
    assert json.loads(json.dumps(white[0].to_dict()))["width"] == 100.0
    with pytest.raises(ModelError, match="not a readable image"):
        model.detect_faces(b"not an image")


def test_embed_and_classify_see_the_pixels(tmp_path):
    emb = _load(tmp_path, mean_colour_onnx(), "emb")
    red = emb.embed(_image((255, 0, 0)))
    assert red.dtype == np.float32 and red == pytest.approx([1, 0, 0], abs=1e-6)
    assert emb.embed(_image((255, 255, 0))) == pytest.approx([0.7071, 0.7071, 0], abs=1e-4)
    assert emb.embed(np.ones((1, 3, 8, 8), np.float32) * [[[[0]], [[0]], [[3]]]]) == \
        pytest.approx([0, 0, 1])
    cls = _load(tmp_path, mean_colour_onnx(10.0, {"labels": ["red", "green", "blue"]}), "cls")
    top = cls.classify(_image((0, 200, 0)), top_k=2)
    assert [label for label, _ in top] == ["green", "red"] and top[0][1] > 0.99
    assert sum(p for _, p in cls.classify(_image((9, 9, 9)))) == pytest.approx(1.0)
    with pytest.raises(ModelError, match="3 scores but 2 labels"):
        cls.classify(_image("red"), labels=["a", "b"])
    with pytest.raises(ModelError, match="not a text model"):
        cls.generate("hello")


def test_channels_last_input_with_a_symbolic_size_takes_image_size(tmp_path):
    m = _load(tmp_path, mean_colour_onnx(meta={"image_size": 32}, nhwc=True), "nhwc")
    assert m._contract.input_size() == (32, 32)
    assert m.embed(_image((0, 0, 255))) == pytest.approx([0, 0, 1], abs=1e-6)


def test_generate_continues_greedily_with_bytes_or_a_vocab(tmp_path):
    text = "quick brown"                  # each letter once: a bigram table can spell it
    eos = 256
    nxt = {ord(a): ord(b) for a, b in zip(text, text[1:])} | {ord("n"): eos}
    lm = _load(tmp_path, bigram_lm_onnx(nxt, 257, {"eos_token_id": eos}), "bytes")
    assert lm.generate("q") == "uick brown"
    assert lm.generate("the bro") == "wn"
    assert lm.generate("q", max_new_tokens=4) == "uick"
    assert lm.generate("q", stop=[" "]) == "uick"
    vocab = ["<eos>", "hello", " ", "world", "!"]
    words = _load(tmp_path, bigram_lm_onnx({1: 2, 2: 3, 3: 4, 4: 0}, len(vocab),
                                           {"vocab": vocab, "eos_token_id": 0}), "words")
    assert words.generate("hello") == " world!"
    with pytest.raises(ModelError, match="in no token"):
        words.generate("hi")
    assert words.embed("hello world").shape == (5,)


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=40))
def test_byte_tokens_round_trip(text):
    tok = Tokenizer(None, None)
    assert tok.decode(tok.encode(text)) == text


# ---- the reference's model example: register in init, use from a job without UseModel ------
@extension(id="com.test.registers", name="R", version="1.0.0",
           permissions=[Permission.ReadEntries(glob="**/*")])
class Registers:
    def init(self, ctx):
        ctx.models().register(name="face_detection", category="vision",
                              source=ModelSource.bundled(face_detector_onnx()))


@extension(id="com.test.borrower", name="B", version="1.0.0",
           permissions=[Permission.ReadEntries(glob="**/*")])
class Borrower:
    pass


def test_an_extension_uses_the_model_it_registered_without_a_usemodel_grant(lib):
    mgr = lib.extensions
    ctx = mgr.install(Registers, "requested")
    faces = ctx.ai().from_registered("face_detection").detect_faces(_image("white"))
    assert isinstance(faces[0], FaceDetection) and faces[0].box == (50.0, 25.0, 100.0, 50.0)
    assert ctx.ai().from_registered("vision:face_detection") is not None
    ctx.models().register(name="remote", category="llm",      # its own, but in a cloud:
                          source=ModelSource.ollama("m", "http://10.0.0.1:11434"))
    with pytest.raises(ConsentRequired, match="preference is 'local'"):
        ctx.ai().from_registered("llm:remote")                 # consent is still the user's
    other = mgr.install(Borrower, "requested")       # not its model: the grant is still needed
    for ref in ("face_detection", "vision:face_detection"):
        with pytest.raises(PermissionDenied, match=r"UseModel\(category='vision'\)"):
            other.ai().from_registered(ref)
    assert ModelRegistry().get("face_detection").extension_id == "com.test.registers"


# ---- the reference's task, word for word in Python, on real image files --------------------
@task(retries=3, timeout_ms=30000)
def detect_faces(ctx, entry):
    image_bytes = entry.read()
    faces = ctx.ai().from_registered("face_detection:photos_v1").detect_faces(image_bytes)
    return faces


@job(name="aihelpers_analyze_photos", parallelism=4, trigger="user_initiated")
def analyze_photos(ctx, location):
    content_uuids = (ctx.vdfs().query_entries().in_location(location).of_type("image")
                     .map(lambda e: e.content_uuid).collect())
    found = {}
    for content_uuid in content_uuids:
        entry = ctx.vdfs().query_entries().where_content_id(content_uuid).on_this_device().first()
        faces = ctx.run(detect_faces, entry)
        found[entry.name] = [f.box for f in faces]
        ctx.vdfs().add_tag_to_content(content_uuid, "#analyzed")
    return found


@extension(id="com.test.aitask", name="T", version="1.0.0",
           permissions=[Permission.ReadEntries(glob="**/*.png"), Permission.WriteTags,
                        Permission.DispatchJobs])
class TaskExample:
    jobs = [analyze_photos]

    def init(self, ctx):
        ctx.models().register(name="photos_v1", category="face_detection",
                              source=ModelSource.bundled(face_detector_onnx()))


def test_the_reference_task_detects_faces_in_indexed_images(lib, tmp_path):
    root = tmp_path / "pics"
    root.mkdir()
    (root / "white.png").write_bytes(_image("white"))
    (root / "black.png").write_bytes(_image("black", size=(100, 100)))
    lib.index(lib.add_location(root)).wait(timeout=60)
    mgr = lib.extensions
    try:
        ctx = mgr.install(TaskExample, "requested")
        found = ctx.dispatch_job(analyze_photos, location=str(root)).wait(timeout=60)
        assert {k: [list(b) for b in v] for k, v in found.items()} == {
            "white.png": [[50.0, 25.0, 100.0, 50.0]],
            "black.png": [[pytest.approx(30.0), pytest.approx(30.0), pytest.approx(50.0),
                           pytest.approx(50.0)]]}
    finally:
        mgr.close()


# ---- YuNet's output layout, decoded as OpenCV's FaceDetectorYN does -------------------------
def yunet_like_onnx(fixed: tuple[int, int] | None = None) -> bytes:
    """YuNet's outputs for strides 8/16/32. Only stride 32 scores: each cell's mean of the *blue*
    channel (BGR input, 0-255) / 255; bbox (0.5, 0.5, 0, 0) puts a 32-px box on its cell;
    landmarks all at the cell's corner."""
    h = helper
    nodes = [h.make_node("Slice", ["input", "s0", "s1", "ax1"], ["blue"])]
    inits = [numpy_helper.from_array(np.array(v, np.int64), n)
             for n, v in (("s0", [0]), ("s1", [1]), ("ax1", [1]), ("shape", [1, -1, 1]))]
    inits += [numpy_helper.from_array(np.array([0.5, 0.5, 0, 0], np.float32), "dxy"),
              numpy_helper.from_array(np.zeros(10, np.float32), "kz"),
              numpy_helper.from_array(np.array(0.0, np.float32), "zero")]
    outputs = []
    for s in (8, 16, 32):
        inits.append(numpy_helper.from_array(np.array((1.0 if s == 32 else 0.0) / 255, np.float32),
                                             f"g{s}"))
        nodes += [h.make_node("AveragePool", ["blue"], [f"p{s}"], kernel_shape=[s, s], strides=[s, s]),
                  h.make_node("Mul", [f"p{s}", f"g{s}"], [f"v{s}"]),
                  h.make_node("Reshape", [f"v{s}", "shape"], [f"cls_{s}"]),
                  h.make_node("Identity", [f"cls_{s}"], [f"obj_{s}"]),
                  h.make_node("Mul", [f"cls_{s}", "zero"], [f"z{s}"]),
                  h.make_node("Add", [f"z{s}", "dxy"], [f"bbox_{s}"]),
                  h.make_node("Add", [f"z{s}", "kz"], [f"kps_{s}"])]
        outputs += [h.make_tensor_value_info(f"{k}_{s}", TensorProto.FLOAT, [1, f"n{s}", d])
                    for k, d in (("cls", 1), ("obj", 1), ("bbox", 4), ("kps", 10))]
    shape = [1, 3, fixed[1], fixed[0]] if fixed else [1, 3, "h", "w"]
    return _model(nodes, [h.make_tensor_value_info("input", TensorProto.FLOAT, shape)], outputs,
                  inits)


def _block(size, xyd, colour) -> bytes:
    """A black PNG of `size` with a `colour` square of side d at (x, y)."""
    x, y, d = xyd
    im = Image.new("RGB", size, "black")
    im.paste(colour, (x, y, x + d, y + d))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def test_yunet_outputs_are_decoded_like_opencv(tmp_path):
    m = _load(tmp_path, yunet_like_onnx(), "yunet")
    # 300×200 is padded to 320×224; a blue 32-px block on stride-32 cell (r=1, c=2)
    [face] = m.detect_faces(_block((300, 200), (64, 32, 32), (0, 0, 255)), min_score=0.9)
    assert face.box == (64.0, 32.0, 32.0, 32.0) and face.score == pytest.approx(1.0)
    assert face.landmarks == ((64.0, 32.0),) * 5
    assert m.detect_faces(_block((300, 200), (64, 32, 32), (255, 0, 0)), min_score=0.9) == []  # red: BGR
    # a 1280×640 image is scaled by 0.5 to 640×320: boxes come back in the image's pixels
    [big] = m.detect_faces(_block((1280, 640), (128, 64, 64), (0, 0, 255)), min_score=0.9)
    assert big.box == pytest.approx((128.0, 64.0, 64.0, 64.0))
    fixed = _load(tmp_path, yunet_like_onnx((320, 320)), "fixed")     # fixed input: fit, pad
    [f] = fixed.detect_faces(_block((640, 320), (128, 64, 64), (0, 0, 255)), min_score=0.9)
    assert f.box == pytest.approx((128.0, 64.0, 64.0, 64.0))


def test_yunet_decoding_agrees_with_opencvs_own_face_detector(tmp_path):
    cv2 = pytest.importorskip("cv2")
    if not hasattr(cv2, "FaceDetectorYN"):
        pytest.skip("this OpenCV has no FaceDetectorYN")
    path = tmp_path / "yunet.onnx"
    path.write_bytes(yunet_like_onnx())
    im = Image.new("RGB", (300, 200), "black")
    for x, y in ((0, 0), (64, 32), (224, 128), (96, 160)):      # four faces, apart
        im.paste((0, 0, 255), (x, y, x + 32, y + 32))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    bgr = cv2.imdecode(np.frombuffer(buf.getvalue(), np.uint8), cv2.IMREAD_COLOR)
    _, theirs = cv2.FaceDetectorYN.create(str(path), "", (300, 200), 0.9, 0.3, 5000).detect(bgr)
    ours = OnnxModel(path, "y").detect_faces(buf.getvalue(), min_score=0.9)
    assert len(ours) == 4
    assert sorted(tuple(f[:4]) + (round(f[14], 5),) for f in theirs.tolist()) == \
        sorted(f.box + (round(f.score, 5),) for f in ours)
    assert sorted(tuple(f[4:14]) for f in theirs.tolist()) == \
        sorted(tuple(v for p in f.landmarks for v in p) for f in ours)
