# This file is maintained automatically by "terraform init".
# Manual edits may be lost in future updates.
{% for provider in [spec.pins.providers.aws] %}
provider "registry.terraform.io/{{ provider.source }}" {
  version     = "{{ provider.version }}"
  constraints = "{{ provider.version }}"
  hashes = [
{%- for hash in provider.hashes %}
    "{{ hash }}",
{%- endfor %}
  ]
}
{%- endfor %}
