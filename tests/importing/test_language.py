"""The language of a document is guessed from its script or its common words, or left blank."""

import pytest

from projects.importing.language import detect_language

SAMPLES = {
    "en": """The Digital Silk Road is the technology component of the Belt and Road Initiative.
        It covers fiber-optic cables, data centres and smart city projects that have been
        built by Chinese companies in many countries, often with loans from state banks.""",
    "es": """La Ruta de la Seda Digital es el componente tecnológico de la iniciativa china.
        Incluye cables de fibra óptica, centros de datos y proyectos de ciudades
        inteligentes que fueron construidos por empresas chinas en muchos países.""",
    "fr": """La Route de la soie numérique est le volet technologique de l'initiative chinoise.
        Elle comprend des câbles à fibre optique, des centres de données et des projets de
        villes intelligentes qui ont été construits par des entreprises chinoises.""",
    "de": """Die Digitale Seidenstraße ist der technologische Teil der chinesischen Initiative.
        Sie umfasst Glasfaserkabel, Rechenzentren und Projekte für intelligente Städte, die
        von chinesischen Unternehmen in vielen Ländern gebaut wurden und mit Krediten.""",
    "pt": """A Rota da Seda Digital é o componente tecnológico da iniciativa chinesa. Ela
        inclui cabos de fibra óptica, centros de dados e projetos de cidades inteligentes
        que foram construídos por empresas chinesas em muitos países, com empréstimos.""",
    "it": """La Via della Seta digitale è la componente tecnologica dell'iniziativa cinese.
        Comprende cavi in fibra ottica, centri dati e progetti di città intelligenti che
        sono stati costruiti da aziende cinesi in molti paesi, spesso con prestiti.""",
    "ru": """Цифровой шёлковый путь — технологическая часть китайской инициативы. Он включает
        волоконно-оптические кабели, центры обработки данных и проекты умных городов,
        построенные китайскими компаниями во многих странах.""",
    "uk": """Цифровий шовковий шлях є технологічною частиною китайської ініціативи. Він
        включає волоконно-оптичні кабелі, центри обробки даних і проєкти розумних міст,
        які збудували китайські компанії в багатьох країнах.""",
    "zh": """数字丝绸之路是“一带一路”倡议的技术组成部分。它包括光纤电缆、数据中心和智慧城市项目，
        这些项目由中国企业在许多国家建设，通常由国有银行提供贷款。""",
    "ja": """デジタルシルクロードは一帯一路構想の技術的な構成要素です。光ファイバーケーブル、
        データセンター、スマートシティのプロジェクトが含まれます。""",
    "ko": """디지털 실크로드는 일대일로 구상의 기술 부문입니다. 광섬유 케이블, 데이터 센터,
        스마트 시티 프로젝트가 포함되며 중국 기업들이 많은 나라에서 건설했습니다.""",
    "ar": """طريق الحرير الرقمي هو المكون التكنولوجي لمبادرة الحزام والطريق. ويشمل كابلات
        الألياف الضوئية ومراكز البيانات ومشاريع المدن الذكية التي بنتها شركات صينية.""",
}


@pytest.mark.parametrize("language", SAMPLES)
def test_language_is_detected(language):
    assert detect_language(SAMPLES[language]) == language


def test_english_text_quoting_chinese_names_is_english():
    text = SAMPLES["en"] + " The operator is 中国电信 and the vendor is 华为."
    assert detect_language(text) == "en"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Huawei 2018",
        "数字丝绸之路",
        "12345 67890 !!! ??? --- 2018-2020",
        "Huawei ZTE Alcatel Nokia Ericsson Cisco Juniper",
    ],
)
def test_unsure_or_short_text_gives_no_language(text):
    assert detect_language(text) == ""
