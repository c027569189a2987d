"""Countries (with their demonyms and common short forms) and US states found in a text.

Support uses them to catch a passage about another place: an answer that repeats "Malaysia"
from the question, cited to a passage that names Australia and not Malaysia, is about the
wrong deal however well its other words match. Only places of one kind are listed, so that
the passage naming a *different* member of the kind means something: a city or a capital
("Beijing" for China) is not listed, and neither is "Washington" (a state, a city and the
US government).
"""

from __future__ import annotations

import re
from functools import lru_cache

# One place per line: its forms separated by "|", the first being its key; a key marked "*" is
# a common first name ("Chad", "Jordan") and only its other forms are matched. Forms are
# matched case-sensitively as whole words, longest first ("North Korea" before "Korea").
_COUNTRIES = """
Afghanistan|Afghan|Afghans
Albania|Albanian|Albanians
Algeria|Algerian|Algerians
Andorra|Andorran
Angola|Angolan|Angolans
Argentina|Argentine|Argentinian|Argentinians
Armenia|Armenian|Armenians
Australia|Australian|Australians
Austria|Austrian|Austrians
Azerbaijan|Azerbaijani|Azerbaijanis
Bahamas|Bahamian
Bahrain|Bahraini
Bangladesh|Bangladeshi|Bangladeshis
Barbados|Barbadian
Belarus|Belarusian|Belarusians
Belgium|Belgian|Belgians
Belize|Belizean
Benin|Beninese
Bhutan|Bhutanese
Bolivia|Bolivian|Bolivians
Bosnia|Bosnian|Bosnians|Bosnia and Herzegovina
Botswana|Botswanan
Brazil|Brazilian|Brazilians
Brunei|Bruneian
Bulgaria|Bulgarian|Bulgarians
Burkina Faso|Burkinabe
Burundi|Burundian
Cambodia|Cambodian|Cambodians
Cameroon|Cameroonian|Cameroonians
Canada|Canadian|Canadians
Cape Verde|Cabo Verde
Central African Republic
*Chad|Chadian
Chile|Chilean|Chileans
China|Chinese|PRC
Colombia|Colombian|Colombians
Comoros
Congo|Congolese|DRC|DR Congo|Democratic Republic of the Congo|Republic of the Congo
Costa Rica|Costa Rican
Croatia|Croatian|Croatians|Croat|Croats
Cuba|Cuban|Cubans
Cyprus|Cypriot|Cypriots
Czech Republic|Czechia|Czech|Czechs
Denmark|Danish|Dane|Danes
Djibouti
Dominican Republic|Dominican
Ecuador|Ecuadorian|Ecuadorians
Egypt|Egyptian|Egyptians
El Salvador|Salvadoran|Salvadorans
Equatorial Guinea
Eritrea|Eritrean|Eritreans
Estonia|Estonian|Estonians
Eswatini|Swaziland
Ethiopia|Ethiopian|Ethiopians
Fiji|Fijian
Finland|Finnish|Finns
France|French
Gabon|Gabonese
Gambia|Gambian
Georgia|Georgian|Georgians
Germany|German|Germans
Ghana|Ghanaian|Ghanaians
Greece|Greek|Greeks
Guatemala|Guatemalan|Guatemalans
Guinea|Guinean
Guyana|Guyanese
Haiti|Haitian|Haitians
Honduras|Honduran|Hondurans
Hungary|Hungarian|Hungarians
Iceland|Icelandic|Icelander|Icelanders
India|Indian|Indians
Indonesia|Indonesian|Indonesians
Iran|Iranian|Iranians
Iraq|Iraqi|Iraqis
Ireland|Irish
Israel|Israeli|Israelis
Italy|Italian|Italians
Ivory Coast|Ivorian|Côte d'Ivoire
Jamaica|Jamaican|Jamaicans
Japan|Japanese
*Jordan|Jordanian|Jordanians
Kazakhstan|Kazakh|Kazakhs
Kenya|Kenyan|Kenyans
Kosovo|Kosovar|Kosovars
Kuwait|Kuwaiti|Kuwaitis
Kyrgyzstan|Kyrgyz
Laos|Laotian|Lao
Latvia|Latvian|Latvians
Lebanon|Lebanese
Lesotho
Liberia|Liberian|Liberians
Libya|Libyan|Libyans
Liechtenstein
Lithuania|Lithuanian|Lithuanians
Luxembourg
Madagascar|Malagasy
Malawi|Malawian
Malaysia|Malaysian|Malaysians
Maldives|Maldivian
Mali|Malian
Malta|Maltese
Mauritania|Mauritanian
Mauritius|Mauritian
Mexico|Mexican|Mexicans
Moldova|Moldovan
Monaco|Monegasque
Mongolia|Mongolian|Mongolians
Montenegro|Montenegrin
Morocco|Moroccan|Moroccans
Mozambique|Mozambican
Myanmar|Burma|Burmese
Namibia|Namibian
Nepal|Nepali|Nepalese
Netherlands|Dutch|Holland
New Zealand|New Zealander|New Zealanders
Nicaragua|Nicaraguan|Nicaraguans
Niger|Nigerien
Nigeria|Nigerian|Nigerians
North Korea|North Korean|North Koreans|Pyongyang
North Macedonia|Macedonia|Macedonian
Norway|Norwegian|Norwegians
Oman|Omani
Pakistan|Pakistani|Pakistanis
Palestine|Palestinian|Palestinians|Gaza|West Bank
Panama|Panamanian
Papua New Guinea
Paraguay|Paraguayan
Peru|Peruvian|Peruvians
Philippines|Filipino|Filipinos|Philippine
Poland|Polish
Portugal|Portuguese
Qatar|Qatari|Qataris
Romania|Romanian|Romanians
Russia|Russian|Russians|Russian Federation
Rwanda|Rwandan|Rwandans
Saudi Arabia|Saudi|Saudis
Senegal|Senegalese
Serbia|Serbian|Serbians|Serb|Serbs
Sierra Leone
Singapore|Singaporean|Singaporeans
Slovakia|Slovak|Slovaks
Slovenia|Slovenian|Slovene
Somalia|Somali|Somalis
South Africa|South African|South Africans
South Korea|South Korean|South Koreans|Korea|Korean|Koreans
South Sudan|South Sudanese
Spain|Spanish|Spaniard|Spaniards
Sri Lanka|Sri Lankan|Sri Lankans
Sudan|Sudanese
Suriname
Sweden|Swedish|Swede|Swedes
Switzerland|Swiss
Syria|Syrian|Syrians
Taiwan|Taiwanese
Tajikistan|Tajik
Tanzania|Tanzanian|Tanzanians
Thailand|Thai|Thais
Togo|Togolese
Trinidad and Tobago|Trinidad
Tunisia|Tunisian|Tunisians
Turkey|Turkish|Turks|Türkiye
Turkmenistan|Turkmen
Uganda|Ugandan|Ugandans
Ukraine|Ukrainian|Ukrainians
United Arab Emirates|UAE|Emirati|Emiratis
United Kingdom|UK|U.K.|Britain|British|Great Britain|England|Scotland|Scottish|Wales
United States|US|U.S.|USA|U.S.A.|America|American|Americans
Uruguay|Uruguayan
Uzbekistan|Uzbek|Uzbeks
Venezuela|Venezuelan|Venezuelans
Vietnam|Vietnamese|Viet Nam
Yemen|Yemeni|Yemenis
Zambia|Zambian
Zimbabwe|Zimbabwean|Zimbabweans
"""

_STATES = """
Alabama
Alaska
Arizona
Arkansas
California|Californian|Californians
Colorado
Connecticut
Delaware
Florida|Floridian|Floridians
Hawaii
Idaho
Illinois
Indiana
Iowa
Kansas
Kentucky
Louisiana
Maine
Maryland
Massachusetts
Michigan
Minnesota
Mississippi
Missouri
Montana
Nebraska
Nevada
New Hampshire
New Jersey
New Mexico
New York State
North Carolina
North Dakota
Ohio
Oklahoma
Oregon
Pennsylvania
Rhode Island
South Carolina
South Dakota
Tennessee
Texas|Texan|Texans
Utah
Vermont
Virginia|Virginian|Virginians
West Virginia
Wisconsin
Wyoming
"""


def _keys(lines: str) -> list[str]:
    return [line.split("|")[0].lstrip("*") for line in lines.strip().splitlines()]


COUNTRIES = frozenset(_keys(_COUNTRIES))
"""The keys of the countries (the rest are US states)."""


@lru_cache(maxsize=1)
def _table() -> tuple[re.Pattern[str], dict[str, str]]:
    keys: dict[str, str] = {}
    for line in filter(None, (_COUNTRIES + _STATES).splitlines()):
        key, *others = line.split("|")
        if not key.startswith("*"):
            keys[key] = key
        for form in others:
            keys[form] = key.lstrip("*")
    alternation = "|".join(re.escape(f) for f in sorted(keys, key=len, reverse=True))
    # Whole words only: "Mali" is not in "Malibu", "US" is not in "USB", "Niger" not in
    # "Nigeria" (the longer form comes first in the alternation anyway).
    return re.compile(rf"(?<![\w.])(?:{alternation})(?![\w])"), keys


def places_in(text: str) -> frozenset[str]:
    """The places `text` names, each by its key ("Chinese" and "China" are both "China").

    Args:
        text: Any text.

    Returns:
        The keys of the countries and US states it names.
    """
    pattern, keys = _table()
    return frozenset(keys[m.group(0)] for m in pattern.finditer(text))
