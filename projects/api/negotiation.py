from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation


class FormatParameterFirst(DefaultContentNegotiation):
    """`?format=` chooses the rendering whatever the Accept header says (clients often send
    Accept: application/json by default); an unknown format is a 400 naming the choices."""

    def select_renderer(self, request, renderers, format_suffix=None):
        wanted = format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
        if wanted:
            for renderer in renderers:
                if renderer.format == wanted:
                    return renderer, renderer.media_type
            formats = ", ".join(renderer.format for renderer in renderers)
            raise ValidationError({"format": [f"Unknown format {wanted!r}; one of: {formats}."]})
        return super().select_renderer(request, renderers, format_suffix)
