"""AI infrastructure: the model registry, loaders (ONNX, Ollama, OpenAI-compatible),
the user's local/cloud preference and consent, and Jinja prompt templates."""
from .helpers import FaceDetection
from .loaders import OllamaClient, OnnxModel, OpenAIClient
from .prompts import PromptError, Prompts
from .registry import ModelRegistry, RegisteredModel
from .service import AiService, AiSettings
from .sources import ConsentRequired, ModelError, ModelIntegrityError, ModelSource

__all__ = ["AiService", "AiSettings", "ConsentRequired", "FaceDetection", "ModelError",
           "ModelIntegrityError", "ModelRegistry", "ModelSource", "OllamaClient", "OnnxModel", "OpenAIClient",
           "PromptError", "Prompts", "RegisteredModel"]
