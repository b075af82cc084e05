from django.contrib import admin

from .models import (
    Citation,
    Company,
    Country,
    Initiative,
    Project,
    ProjectCompany,
    ProjectCountry,
    ProjectInitiative,
    ProjectType,
    SourceDocument,
)


@admin.register(Country)
class CountryAdmin(admin.ModelAdmin):
    list_display = ["name", "iso2", "iso3", "region", "subregion"]
    list_filter = ["region", "subregion"]
    search_fields = ["name", "official_name", "iso2", "iso3", "aliases"]
    readonly_fields = ["created", "updated"]


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "chinese_name", "kind", "ownership", "headquarters"]
    list_filter = ["kind", "ownership"]
    search_fields = ["name", "chinese_name", "aliases", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["headquarters", "parent"]
    readonly_fields = ["created", "updated"]


@admin.register(ProjectType)
class ProjectTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "position"]
    search_fields = ["name", "keywords"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Initiative)
class InitiativeAdmin(admin.ModelAdmin):
    list_display = ["name", "short_name", "launched_year"]
    search_fields = ["name", "short_name"]
    prepopulated_fields = {"slug": ["name"]}


class ProjectCountryInline(admin.TabularInline):
    model = ProjectCountry
    autocomplete_fields = ["country"]
    extra = 0


class ProjectCompanyInline(admin.TabularInline):
    model = ProjectCompany
    autocomplete_fields = ["company"]
    extra = 0


class ProjectInitiativeInline(admin.TabularInline):
    model = ProjectInitiative
    extra = 0


class CitationInline(admin.StackedInline):
    model = Citation
    autocomplete_fields = ["document"]
    extra = 0


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "project_type", "status", "publication", "updated"]
    list_filter = ["publication", "status", "project_type"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["created", "updated"]
    inlines = [ProjectCountryInline, ProjectCompanyInline, ProjectInitiativeInline, CitationInline]


@admin.register(SourceDocument)
class SourceDocumentAdmin(admin.ModelAdmin):
    list_display = ["title", "publisher", "published_on", "kind", "status"]
    list_filter = ["kind", "status", "language"]
    search_fields = ["title", "publisher", "url"]
    readonly_fields = ["sha256", "size", "media_type", "created", "updated"]


@admin.register(Citation)
class CitationAdmin(admin.ModelAdmin):
    list_display = ["project", "document", "claim"]
    list_filter = ["claim"]
    search_fields = ["project__name", "document__title", "quote"]
    autocomplete_fields = ["project", "document"]
