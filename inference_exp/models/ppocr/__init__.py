"""PaddleOCR PP-OCR models: text detection, text recognition, and the OCR pipeline that joins them.

| architecture | task | backend | class |
|---|---|---|---|
| ``pp-ocrv4-det`` | ``object-detection`` | onnx | :class:`~.detection.PPOCRTextDetection` → ``list[TextDetections]`` |
| ``pp-ocrv4-rec`` | ``text-only-ocr`` | onnx | :class:`~.recognition.PPOCRTextRecognition` → ``list[RecognizedText]`` |

:class:`~.pipeline.OCRPipeline` (``OCRPipeline.from_pretrained(det_id, rec_id)``) runs both and returns one
:class:`~inference_exp.entities.ocr.OCRResult` per image.

Package layout (one ONNX package per model; ``scripts/install_ppocr_packages.py`` builds both from the ONNX
files of the ``rapidocr_onnxruntime`` wheel):

| file | detection | recognition |
|---|---|---|
| ``weights.onnx`` | input ``(B, 3, H, W)``, output ``(B, 1, H, W)`` text probability | input ``(B, 3, 48, W)``, output ``(B, T, C)`` class probabilities |
| ``inference_config.json`` | :func:`~.package.detection_inference_config` | :func:`~.package.recognition_inference_config` |
| ``class_names.txt`` | ``text`` | — |
| ``characters.txt`` | — | the character dictionary, one per line (:func:`~.package.read_characters`) |

Both configs describe BGR input, ``stretch`` resize, ``/ 255`` and ``(x - 0.5) / 0.5``. Family parameters (DB
thresholds, unclip ratio, the detector's limit side; the pipeline's text threshold) are call parameters whose
defaults are PaddleOCR's PP-OCRv4 settings; see the family modules.
"""

from inference_exp.models.ppocr.detection import PPOCRTextDetection, detection_input_size
from inference_exp.models.ppocr.pipeline import OCRPipeline
from inference_exp.models.ppocr.recognition import PPOCRTextRecognition

__all__ = ["OCRPipeline", "PPOCRTextDetection", "PPOCRTextRecognition", "detection_input_size"]
