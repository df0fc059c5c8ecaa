"""Provider names: normalise what emitters say, and infer it from the model when they don't."""

from __future__ import annotations

# Emitted provider/system names → the OpenTelemetry `gen_ai.provider.name` spelling.
ALIASES = {
    "anthropic": "anthropic",
    "claude": "anthropic",
    "openai": "openai",
    "azure.ai.openai": "azure.ai.openai",
    "az.ai.openai": "azure.ai.openai",
    "azure": "azure.ai.openai",
    "google": "gcp.gemini",
    "gemini": "gcp.gemini",
    "gcp.gemini": "gcp.gemini",
    "google_genai": "gcp.gemini",
    "gcp.gen_ai": "gcp.gen_ai",
    "gcp.vertex_ai": "gcp.vertex_ai",
    "vertex_ai": "gcp.vertex_ai",
    "vertexai": "gcp.vertex_ai",
    "aws.bedrock": "aws.bedrock",
    "bedrock": "aws.bedrock",
    "aws": "aws.bedrock",
    "mistral_ai": "mistral_ai",
    "mistralai": "mistral_ai",
    "mistral": "mistral_ai",
    "groq": "groq",
    "deepseek": "deepseek",
    "x_ai": "x_ai",
    "xai": "x_ai",
    "cohere": "cohere",
    "github": "github",
    "ollama": "ollama",
    "perplexity": "perplexity",
    "openrouter": "openrouter",
    "amazon-bedrock": "aws.bedrock",
    "google-vertex": "gcp.vertex_ai",
    "google-generative-ai": "gcp.gemini",
    "azure-openai": "azure.ai.openai",
    "azure.ai.inference": "azure.ai.inference",
    "watsonx": "ibm.watsonx.ai",
    "ibm.watsonx.ai": "ibm.watsonx.ai",
}

# SDK provider ids of the form `vendor.api` (Vercel AI SDK: `anthropic.messages`, `openai.responses`).
SDK_VENDORS = {
    "anthropic": "anthropic",
    "openai": "openai",
    "google": "gcp.gemini",
    "mistral": "mistral_ai",
    "xai": "x_ai",
    "groq": "groq",
    "deepseek": "deepseek",
    "cohere": "cohere",
    "azure": "azure.ai.openai",
    "amazon-bedrock": "aws.bedrock",
    "bedrock": "aws.bedrock",
    "perplexity": "perplexity",
    "openrouter": "openrouter",
}

# Bedrock cross-region inference profiles prefix the model id with a geography.
BEDROCK_GEOGRAPHIES = ("us.", "eu.", "apac.", "global.", "us-gov.", "jp.", "au.", "ca.")

MODEL_PREFIXES = (
    ("claude", "anthropic"),
    ("anthropic.", "aws.bedrock"),
    ("gpt-", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("codex", "openai"),
    ("chatgpt", "openai"),
    ("text-embedding", "openai"),
    ("gemini", "gcp.gemini"),
    ("models/gemini", "gcp.gemini"),
    ("mistral", "mistral_ai"),
    ("codestral", "mistral_ai"),
    ("devstral", "mistral_ai"),
    ("grok", "x_ai"),
    ("deepseek", "deepseek"),
    ("command", "cohere"),
    ("llama", "meta"),
    ("qwen", "alibaba"),
)


def normalise_provider(name: str | None) -> str | None:
    """Also accepts SDK spellings like Vercel's `anthropic.messages` or `openai.responses`."""
    if not name:
        return None
    key = name.strip().lower()
    if key in ALIASES:
        return ALIASES[key]
    if key.startswith("google.vertex"):
        return "gcp.vertex_ai"
    vendor, dot, _ = key.partition(".")
    if dot and vendor in SDK_VENDORS:
        return SDK_VENDORS[vendor]
    return key


def provider_for_model(model: str | None) -> str | None:
    if not model:
        return None
    key = model.strip().lower()
    if key.startswith("anthropic.") or (key.startswith(BEDROCK_GEOGRAPHIES) and key.count(".") >= 2):
        return "aws.bedrock"
    if "/" in key and not key.startswith("models/"):
        vendor, _, rest = key.partition("/")
        if vendor in ALIASES:
            return ALIASES[vendor]
        key = rest
    for prefix, provider in MODEL_PREFIXES:
        if key.startswith(prefix):
            return provider
    return None
