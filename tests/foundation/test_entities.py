import json

import numpy as np
import pytest
import supervision as sv
import torch

from inference_exp.entities import (
    ClassificationPrediction,
    Detections,
    Embeddings,
    InstanceDetections,
    KeyPoints,
    MultiLabelClassificationPrediction,
    SemanticSegmentationResult,
)

NAMES = ("cat", "dog", "bird")


def _detections(**extra):
    return dict(
        xyxy=torch.tensor([[1.5, 2.0, 10.0, 20.25], [0.0, 0.0, 5.0, 5.0]]),
        class_id=torch.tensor([2, 0]),
        confidence=torch.tensor([0.9, 0.4]),
        class_names=NAMES,
        **extra,
    )


def test_detections_convert_to_numpy_dict_and_supervision():
    d = Detections(**_detections(image_metadata={"size": (30, 40)}))
    assert len(d) == 2
    assert d.class_name == ["bird", "cat"]
    arrays = d.to_numpy()
    np.testing.assert_allclose(arrays["xyxy"][0], [1.5, 2.0, 10.0, 20.25])
    assert arrays["class_id"].tolist() == [2, 0]
    payload = json.loads(json.dumps(d.to_dict()))
    assert payload["detections"][0] == {"xyxy": [1.5, 2.0, 10.0, 20.25], "class_id": 2, "class_name": "bird", "confidence": pytest.approx(0.9)}
    assert payload["image_metadata"] == {"size": [30, 40]}
    s = d.to_supervision()
    assert isinstance(s, sv.Detections)
    np.testing.assert_allclose(s.xyxy, arrays["xyxy"])
    assert s.class_id.tolist() == [2, 0]
    assert s.data["class_name"].tolist() == ["bird", "cat"]


def test_detections_reject_mismatched_lengths():
    with pytest.raises(ValueError, match="class_id has shape"):
        Detections(xyxy=torch.zeros(2, 4), class_id=torch.zeros(3, dtype=torch.long), confidence=torch.zeros(2))
    with pytest.raises(ValueError, match="bboxes_metadata has 1 entries for 2 boxes"):
        Detections(**_detections(bboxes_metadata=[{}]))


def test_class_ids_outside_the_names_fall_back_to_the_number():
    d = Detections(xyxy=torch.zeros(1, 4), class_id=torch.tensor([7]), confidence=torch.ones(1), class_names=NAMES)
    assert d.class_name == ["7"]


def test_instance_detections_carry_masks_into_supervision():
    mask = torch.zeros(2, 30, 40, dtype=torch.bool)
    mask[0, 2:20, 1:10] = True
    d = InstanceDetections(**_detections(), mask=mask)
    assert d.to_numpy()["mask"].shape == (2, 30, 40)
    s = d.to_supervision()
    assert s.mask.shape == (2, 30, 40) and s.mask.dtype == bool
    assert s.mask[0].sum() == 18 * 9
    with pytest.raises(ValueError):
        InstanceDetections(**_detections())


def test_keypoints_to_supervision():
    k = KeyPoints(
        xy=torch.rand(2, 17, 2) * 100,
        confidence=torch.rand(2, 17),
        class_id=torch.tensor([0, 0]),
        class_names=("person",),
    )
    s = k.to_supervision()
    assert isinstance(s, sv.KeyPoints)
    assert s.xy.shape == (2, 17, 2)
    confidence = s.keypoint_confidence if hasattr(s, "keypoint_confidence") else s.confidence
    np.testing.assert_allclose(confidence, k.confidence.numpy())
    assert json.loads(json.dumps(k.to_dict()))["keypoints"][1]["class_name"] == "person"


def test_classification_top_k_iteration_and_supervision():
    probabilities = torch.tensor([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]])
    p = ClassificationPrediction(
        class_id=probabilities.argmax(1), confidence=probabilities.max(1).values, probabilities=probabilities, class_names=NAMES
    )
    assert len(p) == 2
    assert p.class_name == ["dog", "cat"]
    assert p.top_k(2) == [[(1, "dog", pytest.approx(0.7)), (2, "bird", pytest.approx(0.2))], [(0, "cat", 0.5), (2, "bird", pytest.approx(0.3))]]
    second = list(p)[1]
    assert second.class_name == ["cat"] and len(second) == 1
    s = second.to_supervision()
    assert s.get_top_k(1)[0].tolist() == [0]
    assert json.loads(json.dumps(p.to_dict(top_k=1)))["predictions"][0]["class_name"] == "dog"


def test_multilabel_prediction():
    p = MultiLabelClassificationPrediction(
        class_ids=torch.tensor([0, 2]), confidence=torch.tensor([0.8, 0.6]), probabilities=torch.tensor([0.8, 0.1, 0.6]), class_names=NAMES
    )
    assert p.class_name == ["cat", "bird"]
    assert p.to_supervision().class_id.tolist() == [0, 2]
    assert [x["class_name"] for x in p.to_dict()["predictions"]] == ["cat", "bird"]


def test_semantic_segmentation_to_supervision_has_one_mask_per_class():
    seg = torch.zeros(4, 6, dtype=torch.long)
    seg[1:3, 2:5] = 2
    result = SemanticSegmentationResult(segmentation_map=seg, confidence=torch.full((4, 6), 0.9), class_names=NAMES)
    s = result.to_supervision()
    assert s.class_id.tolist() == [0, 2]
    assert s.mask[1].sum() == 6
    np.testing.assert_allclose(s.xyxy[1], [2, 1, 4, 2])
    assert result.to_dict()["classes"] == [
        {"class_id": 0, "class_name": "cat", "pixels": 18},
        {"class_id": 2, "class_name": "bird", "pixels": 6},
    ]
    with pytest.raises(ValueError):
        SemanticSegmentationResult(segmentation_map=seg, confidence=torch.zeros(3, 3))


def test_embeddings_similarity_is_cosine():
    a = Embeddings(torch.tensor([[1.0, 0.0], [1.0, 1.0]]))
    b = Embeddings(torch.tensor([[2.0, 0.0]]), kind="text")
    np.testing.assert_allclose(a.similarity(b).numpy(), [[1.0], [2**-0.5]], rtol=1e-6)


def test_to_supervision_without_supervision_names_the_extra(monkeypatch):
    import sys

    from inference_exp.errors import MissingDependencyError

    monkeypatch.setitem(sys.modules, "supervision", None)  # makes `import supervision` fail
    with pytest.raises(MissingDependencyError, match=r"inference-exp\[supervision\]"):
        Detections(**_detections()).to_supervision()
