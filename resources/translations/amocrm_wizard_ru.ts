<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ru_RU">
<context>
    <name>BusyIndicator</name>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="134"/>
        <source>Busy: {what}</source>
        <translation>Идёт работа: {what}</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="134"/>
        <source>Progress</source>
        <translation>Ход работы</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="136"/>
        <source>Working…</source>
        <translation>Идёт работа…</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="139"/>
        <source>What the wizard is doing now.</source>
        <translation>Что мастер делает сейчас.</translation>
    </message>
</context>
<context>
    <name>CommandBox</name>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="675"/>
        <source>Copy</source>
        <translation>Копировать</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="676"/>
        <source>Copy the command</source>
        <translation>Копировать команду</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="679"/>
        <source>Copies the command above to the clipboard.</source>
        <translation>Копирует команду выше в буфер обмена.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="681"/>
        <source>Command</source>
        <translation>Команда</translation>
    </message>
</context>
<context>
    <name>ConsentBrowser</name>
    <message>
        <location filename="../../wizard/ui/webview.py" line="129"/>
        <source>amoCRM consent page</source>
        <extracomment>(NavigationRequest, Verdict): every navigation the page saw and what was decided. (LoadEvent): every change in loading, as a plain value.</extracomment>
        <translation>Страница разрешения amoCRM</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/webview.py" line="131"/>
        <source>The amoCRM page where you allow the integration to access your account.</source>
        <translation>Страница amoCRM, на которой вы разрешаете интеграции доступ к аккаунту.</translation>
    </message>
</context>
<context>
    <name>ConsentPage</name>
    <message>
        <location filename="../../wizard/ui/consent.py" line="120"/>
        <source>Allow access in amoCRM</source>
        <extracomment>Scrolls the page&apos;s last buttons (Allow, Deny) into view. amoCRM&apos;s page is up, or did not load: the wizard may do more now without competing with it for the interpreter (emitted after every load of amoCRM&apos;s pages). The notice shows a failed load (cleared once the page loads again).</extracomment>
        <translation>Разрешите доступ в amoCRM</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="123"/>
        <source>Log in if amoCRM asks, choose the account and press “Allow” (Разрешить).</source>
        <translation>Войдите, если amoCRM попросит, выберите аккаунт и нажмите «Разрешить».</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="125"/>
        <source>Consent page status</source>
        <translation>Состояние страницы разрешения</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="126"/>
        <source>Try loading again</source>
        <translation>Загрузить ещё раз</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="127"/>
        <source>Loads the amoCRM page again.</source>
        <translation>Загружает страницу amoCRM заново.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="141"/>
        <source>Open that link in my browser</source>
        <translation>Открыть эту ссылку в моём браузере</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="144"/>
        <source>Opens the page that is not part of amoCRM in your usual web browser.</source>
        <translation>Открывает страницу, которая не относится к amoCRM, в вашем обычном браузере.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="146"/>
        <source>Or, without this page</source>
        <translation>Или без этой страницы</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="147"/>
        <source>Open the consent page in my own browser</source>
        <translation>Открыть страницу разрешения в моём браузере</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="151"/>
        <source>Opens the same amoCRM page in your usual web browser. After pressing Allow there, paste the address the browser went to into the field below.</source>
        <translation>Открывает эту же страницу amoCRM в вашем обычном браузере. Нажмите там «Разрешить», затем вставьте в поле ниже адрес, на который перешёл браузер.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="156"/>
        <source>Paste the 20-minute code from Keys and scopes:</source>
        <translation>Вставьте 20-минутный код из «Ключей и доступов»:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="157"/>
        <source>Authorization code</source>
        <translation>Код авторизации</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="160"/>
        <source>The 20-minute code from the integration&apos;s Keys and scopes tab in amoCRM.</source>
        <translation>Код авторизации, действующий 20 минут, с вкладки «Ключи и доступы» интеграции в amoCRM.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="163"/>
        <source>Or paste the address you were redirected to:</source>
        <translation>Или вставьте адрес, на который вас перенаправило:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="164"/>
        <source>Redirect address</source>
        <translation>Адрес перенаправления</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="168"/>
        <source>The whole address from the browser&apos;s address bar after you pressed Allow: a long address with the word “code” in it.</source>
        <translation>Полный адрес из адресной строки браузера после нажатия «Разрешить»: длинный адрес, в котором есть слово «code».</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="176"/>
        <source>This is amoCRM&apos;s own page. Log in if it asks, pick the account and press “Allow” (Разрешить); the wizard catches the answer and moves on by itself.

If the page does not load: in amoCRM open Settings → Integrations (Настройки → Интеграции), click your integration, open the Keys and scopes tab (Ключи и доступы) and copy the authorization code (Код авторизации) into the field below; it works for 20 minutes. Or open the page in your own browser, press Allow there and paste the address your browser went to.</source>
        <translation>Это собственная страница amoCRM. Войдите, если она попросит, выберите аккаунт и нажмите «Разрешить» — мастер сам получит ответ и перейдёт дальше.

Если страница не загружается: в amoCRM откройте «Настройки → Интеграции», нажмите на свою интеграцию, откройте вкладку «Ключи и доступы» и скопируйте «Код авторизации» в поле ниже; он действует 20 минут. Или откройте страницу в своём браузере, нажмите там «Разрешить» и вставьте адрес, на который перешёл браузер.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="339"/>
        <source>This link leads outside amoCRM ({url}); it is not opened here.</source>
        <translation>Эта ссылка ведёт за пределы amoCRM ({url}), здесь она не открывается.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="463"/>
        <source>The consent page has been loaded again.</source>
        <translation>Страница разрешения загружена заново.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="473"/>
        <source>Access allowed. Getting the tokens…</source>
        <translation>Доступ разрешён. Получаем токены…</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="335"/>
        <source>Loading the amoCRM page…</source>
        <translation>Загружается страница amoCRM…</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="344"/>
        <source>Press “Allow” on the page below.</source>
        <translation>Нажмите «Разрешить» на странице ниже.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="351"/>
        <source>amoCRM did not show the consent page (error {status}): it does not know this Client ID for {host}, or the integration is switched off. Press Back to check the integration details, or use the code below.</source>
        <translation>amoCRM не показал страницу разрешения (ошибка {status}): он не знает этот ID интеграции для {host} или интеграция отключена. Нажмите «Назад» и проверьте данные интеграции — или воспользуйтесь кодом ниже.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="359"/>
        <source>The amoCRM page could not be loaded. Check the internet connection and the account address ({host}), then try again, or use the code below.</source>
        <translation>Не удалось загрузить страницу amoCRM. Проверьте подключение к интернету и адрес аккаунта ({host}) и попробуйте ещё раз — или воспользуйтесь кодом ниже.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="525"/>
        <source>No web browser could be started on this computer.</source>
        <translation>На этом компьютере не удалось открыть браузер.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="527"/>
        <source>Use the page above, or paste the 20-minute code from the integration&apos;s Keys and scopes tab into the field below.</source>
        <translation>Воспользуйтесь страницей выше или вставьте 20-минутный код с вкладки «Ключи и доступы» интеграции в поле ниже.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="535"/>
        <source>The amoCRM page is open in your browser.</source>
        <translation>Страница amoCRM открыта в вашем браузере.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="537"/>
        <source>Press “Allow” (Разрешить) there. Then copy the whole address from your browser&apos;s address bar and paste it into “Or paste the address you were redirected to”.</source>
        <translation>Нажмите там «Разрешить». Затем скопируйте весь адрес из адресной строки браузера и вставьте его в поле «Или вставьте адрес, на который вас перенаправило».</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="128"/>
        <source>Go back to the integration details</source>
        <translation>Вернуться к данным интеграции</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="131"/>
        <source>Returns to the page with the Client ID and the Redirect URI to check them.</source>
        <translation>Возвращает на страницу с ID интеграции и ссылкой для перенаправления, чтобы их проверить.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="133"/>
        <source>Use the registered address and connect</source>
        <translation>Взять адрес из amoCRM и подключиться</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="137"/>
        <source>Takes the address registered in amoCRM as the Redirect URI, then gets the tokens with the code amoCRM just gave.</source>
        <translation>Берёт адрес, указанный в amoCRM, как ссылку для перенаправления и получает токены по коду, который amoCRM только что выдал.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="427"/>
        <source>amoCRM sent its answer to {address}, not to the Redirect URI you entered.</source>
        <translation>amoCRM отправил ответ на {address}, а не на введённую вами ссылку для перенаправления.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="430"/>
        <source>That is the address registered for this integration in amoCRM. Nothing has been sent yet: use the registered address to get the tokens, or go back and correct it.</source>
        <translation>Этот адрес указан для интеграции в amoCRM. Пока ничего не отправлено: возьмите адрес из amoCRM, чтобы получить токены, или вернитесь и исправьте ссылку.</translation>
    </message>
</context>
<context>
    <name>DetailsPage</name>
    <message>
        <location filename="../../wizard/ui/details.py" line="152"/>
        <source>Not needed with a long-lived token (fill it in if you have it).</source>
        <extracomment>What to say instead of &quot;Looks right&quot; (what was taken from a pasted address).</extracomment>
        <translation>С долгосрочным токеном не обязательно (заполните, если знаете).</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="156"/>
        <source>✓ Looks right</source>
        <translation>✓ Выглядит верно</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="245"/>
        <source>Integration details</source>
        <translation>Данные интеграции</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="246"/>
        <source>Copy these values from your integration in amoCRM.</source>
        <translation>Скопируйте эти значения из своей интеграции в amoCRM.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="250"/>
        <source>Where do I find these? In amoCRM open Settings → Integrations, click your integration, then the Keys and scopes tab. The account address is what you see in the browser&apos;s address bar, e.g. mycompany.amocrm.ru; pasting the whole address is fine.</source>
        <translation>Где это взять? В amoCRM откройте Настройки → Интеграции, нажмите на свою интеграцию, затем вкладку «Ключи и доступы». Адрес аккаунта — то, что видно в адресной строке браузера, например mycompany.amocrm.ru; можно вставить адрес целиком.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="255"/>
        <source>How should the wizard get the tokens?</source>
        <translation>Как мастеру получить токены?</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="258"/>
        <source>Through the amoCRM consent page (the usual way)</source>
        <translation>Через страницу разрешения amoCRM (обычный способ)</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="262"/>
        <source>Next opens amoCRM&apos;s page where you press Allow; the tokens renew themselves.</source>
        <translation>«Далее» откроет страницу amoCRM, где нужно нажать «Разрешить»; токены будут обновляться сами.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="266"/>
        <source>I have a long-lived token (private integration)</source>
        <translation>У меня есть долгосрочный токен (частная интеграция)</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="271"/>
        <source>Use a long-lived token made on the private integration&apos;s Keys and scopes tab instead of the consent page. It cannot be renewed.</source>
        <translation>Использовать долгосрочный токен, созданный на вкладке «Ключи и доступы» частной интеграции, вместо страницы разрешения. Его нельзя продлить.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="279"/>
        <location filename="../../wizard/ui/details.py" line="284"/>
        <source>Account address</source>
        <translation>Адрес аккаунта</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="281"/>
        <source>Your amoCRM address, e.g. mycompany, mycompany.amocrm.ru or mycompany.kommo.com. A whole address pasted from the browser is fine too.</source>
        <translation>Адрес вашего amoCRM, например mycompany, mycompany.amocrm.ru или mycompany.kommo.com. Можно вставить и весь адрес из браузера.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="288"/>
        <source>The integration ID from the Keys and scopes tab, like 1a2b3c4d-…</source>
        <translation>ID интеграции с вкладки «Ключи и доступы», вида 1a2b3c4d-…</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="289"/>
        <source>Integration ID</source>
        <translation>ID интеграции</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="293"/>
        <source>The secret key from the Keys and scopes tab. It is hidden as you type.</source>
        <translation>Секретный ключ с вкладки «Ключи и доступы». При вводе он скрыт.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="294"/>
        <source>Secret key</source>
        <translation>Секретный ключ</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="299"/>
        <source>The redirect address (Redirect URI) exactly as written in the integration&apos;s settings.</source>
        <translation>Ссылка для перенаправления (Redirect URI) точно так, как она записана в настройках интеграции.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="320"/>
        <source>Shows the secret key in plain text.</source>
        <translation>Показывает секретный ключ открытым текстом.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="340"/>
        <source>In amoCRM open Settings → Integrations (Настройки → Интеграции) and click your private integration. On its Keys and scopes tab (Ключи и доступы) create a long-lived token, choose how long it lives (1 day to 5 years) and copy it into the “Long-lived token” field. Copy the account address from the browser&apos;s address bar. The Integration ID and Secret key are on the same tab; they are optional here.</source>
        <translation>В amoCRM откройте Настройки → Интеграции и нажмите на свою приватную интеграцию. На вкладке «Ключи и доступы» создайте долгосрочный токен, выберите срок его жизни (от 1 дня до 5 лет) и скопируйте его в поле «Долгосрочный токен». Адрес аккаунта скопируйте из адресной строки браузера. ID интеграции и секретный ключ находятся на той же вкладке; здесь они необязательны.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="347"/>
        <source>In amoCRM open Settings → Integrations and click your integration. On its Keys and scopes tab copy the Integration ID and the Secret key into the fields of the same names. The Redirect URI is the redirect address in the integration&apos;s settings; copy it exactly, character for character. The account address is in the browser&apos;s address bar, e.g. mycompany.amocrm.ru.</source>
        <translation>В amoCRM откройте Настройки → Интеграции и нажмите на свою интеграцию. На вкладке «Ключи и доступы» скопируйте ID интеграции и секретный ключ в одноимённые поля. Redirect URI — это ссылка для перенаправления в настройках интеграции; скопируйте её точно, символ в символ. Адрес аккаунта — в адресной строке браузера, например mycompany.amocrm.ru.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="440"/>
        <source>✓ The account is {account}: taken from the pasted address (the rest is not needed).</source>
        <translation>✓ Аккаунт — {account}: взят из вставленного адреса (остальное не нужно).</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="287"/>
        <source>Client ID</source>
        <translation>ID интеграции</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="160"/>
        <source>✗ {message} {hint}</source>
        <translation>✗ {message} {hint}</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="292"/>
        <source>Client secret</source>
        <translation>Секретный ключ</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="297"/>
        <location filename="../../wizard/ui/details.py" line="301"/>
        <source>Redirect URI</source>
        <translation>Ссылка для перенаправления (Redirect URI)</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="304"/>
        <location filename="../../wizard/ui/details.py" line="309"/>
        <source>Long-lived token</source>
        <translation>Долгосрочный токен</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="306"/>
        <source>The long-lived token from the private integration&apos;s Keys and scopes tab. It is hidden as you type.</source>
        <translation>Долгосрочный токен с вкладки «Ключи и доступы» частной интеграции. При вводе он скрыт.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="317"/>
        <source>Show the secret</source>
        <translation>Показать ключ</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="322"/>
        <source>Show the token</source>
        <translation>Показать токен</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="325"/>
        <source>Shows the long-lived token in plain text.</source>
        <translation>Показывает долгосрочный токен открытым текстом.</translation>
    </message>
</context>
<context>
    <name>DonePage</name>
    <message>
        <location filename="../../wizard/ui/done.py" line="103"/>
        <source>All set</source>
        <extracomment>False once planning found no scheduler on this computer (nothing is offered then).</extracomment>
        <translation>Готово</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="105"/>
        <source>Summary</source>
        <translation>Итог</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="106"/>
        <source>Copy the summary (secrets masked)</source>
        <translation>Скопировать итог (секреты скрыты)</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="110"/>
        <source>Copies the summary to the clipboard with every secret shortened to its first characters.</source>
        <translation>Копирует итог в буфер обмена; от каждого секрета остаются только первые символы.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="113"/>
        <source>How to renew</source>
        <translation>Как продлевать</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="114"/>
        <source>Keep the connection alive</source>
        <translation>Чтобы подключение не пропало</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="126"/>
        <source>Adds a daily task for your user that renews the tokens when they are 30 days old, so the refresh token never dies unused.</source>
        <translation>Добавляет для вашего пользователя ежедневную задачу, которая продлевает токены, когда им исполняется 30 дней, чтобы refresh-токен не истёк без дела.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="130"/>
        <source>What the daily renewal does</source>
        <translation>Что делает ежедневное продление</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="136"/>
        <source>The account is connected and the tokens are saved.</source>
        <translation>Аккаунт подключён, токены сохранены.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="137"/>
        <source>The stored connection works.</source>
        <translation>Сохранённое подключение работает.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="138"/>
        <source>The tokens were renewed and saved.</source>
        <translation>Токены продлены и сохранены.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="174"/>
        <source>Setting up the daily renewal…</source>
        <translation>Настраивается ежедневное продление…</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="204"/>
        <source>This is a long-lived token. It ends on {when} and cannot be renewed: create a new one in amoCRM (Keys and scopes of the private integration) before then and run this wizard again. Its first page shows when the token ends.</source>
        <translation>Это долгосрочный токен. Он перестанет действовать {when}, и продлить его нельзя: до этого срока создайте новый в amoCRM («Ключи и доступы» частной интеграции) и снова запустите мастер. Его первая страница показывает, когда токен перестанет действовать.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="238"/>
        <source>Account</source>
        <translation>Аккаунт</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="239"/>
        <source>{name} (id {id})</source>
        <translation>{name} (номер {id})</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="241"/>
        <source>Address</source>
        <translation>Адрес</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="115"/>
        <source>Renewal on a server</source>
        <translation>Продление на сервере</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="119"/>
        <source>When I press Finish, set up a daily check on this computer that renews the tokens when they are 30 days old (no admin rights needed)</source>
        <translation>По нажатию «Готово» настроить на этом компьютере ежедневную проверку, которая продлевает токены, когда им исполняется 30 дней (права администратора не нужны)</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="143"/>
        <source>Your backend reads the tokens from where they were saved. An access token lives 24 hours and the refresh token 3 months; every renewal starts the 3 months again. If the backend runs on a server, set the renewal up on that server with the command shown. Otherwise tick the box: this computer then checks once a day and renews the tokens when they are 30 days old, with the task scheduler built into the system.

The integration itself is in amoCRM under Settings → Integrations (Настройки → Интеграции).</source>
        <translation>Ваш бэкенд читает токены оттуда, куда они сохранены. Токен доступа живёт 24 часа, refresh-токен — 3 месяца; каждое продление начинает 3 месяца заново. Если бэкенд работает на сервере, настройте продление на этом сервере показанной командой. Иначе отметьте флажок: этот компьютер будет раз в день проверять токены и продлевать их, когда им исполнится 30 дней, с помощью встроенного в систему планировщика заданий.

Сама интеграция находится в amoCRM в разделе Настройки → Интеграции.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="210"/>
        <source>The refresh token ends on {when} unless the tokens are renewed before then; each renewal gives it 3 more months. To renew by hand, open this wizard again and choose “Renew now”. If it has ended, choose “Connect again”.</source>
        <translation>Refresh-токен закончится {when}, если токены не продлить раньше; каждое продление даёт ему ещё 3 месяца. Чтобы продлить вручную, снова откройте этот мастер и выберите «Продлить сейчас». Если он уже закончился, выберите «Подключить заново».</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="216"/>
        <source>The secret key is saved with the tokens; this computer&apos;s keyring could not keep a copy as well. You need not do anything: next time the wizard may ask you for the secret key again. ({reason})</source>
        <translation>Секретный ключ сохранён вместе с токенами; хранилище паролей этого компьютера не смогло сохранить ещё одну копию. Делать ничего не нужно: в следующий раз мастер может снова спросить секретный ключ. ({reason})</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="242"/>
        <source>Integration ID</source>
        <translation>ID интеграции</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="243"/>
        <source>Secret key</source>
        <translation>Секретный ключ</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="244"/>
        <source>Redirect URI</source>
        <translation>Ссылка для перенаправления (Redirect URI)</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="245"/>
        <source>Saved to</source>
        <translation>Сохранено в</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="250"/>
        <source>Long-lived token</source>
        <translation>Долгосрочный токен</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="251"/>
        <source>{token} ends {when}; it cannot be renewed</source>
        <translation>{token}, действует до {when}; продлить нельзя</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="259"/>
        <source>Access token</source>
        <translation>Токен доступа</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="260"/>
        <source>{token} valid until {when}</source>
        <translation>{token}, действует до {when}</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="269"/>
        <source>Refresh token</source>
        <translation>Refresh-токен</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="270"/>
        <source>{token} dies {when} if unused</source>
        <translation>{token}, истечёт {when}, если не использовать</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="310"/>
        <source>Checking how this computer runs daily tasks…</source>
        <translation>Проверяем, как этот компьютер запускает ежедневные задачи…</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="333"/>
        <source>If your backend runs on a server, the renewal belongs on that server: ask whoever looks after it to have the server run the command below once a day (with the path the backend uses there). A backend that gets its token with “amocrm-wizard token” renews it by itself when needed, and needs nothing scheduled.</source>
        <translation>Если ваш бэкенд работает на сервере, продление должно быть на этом сервере: попросите того, кто его обслуживает, настроить на сервере ежедневный запуск команды ниже (с путём, который бэкенд использует там). Бэкенд, который получает токен командой «amocrm-wizard token», сам продлевает его, когда нужно, и ничего планировать не надо.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="344"/>
        <source>Nothing to schedule: a long-lived token cannot be renewed. Put its end date in your calendar; this wizard&apos;s first page shows it too.</source>
        <translation>Планировать нечего: долгосрочный токен продлить нельзя. Запишите дату окончания в календарь; её также показывает первая страница мастера.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="349"/>
        <source>This is the demo: nothing is scheduled, because its sandbox and its .env file are removed when the wizard closes.</source>
        <translation>Это демо: ничего не планируется, потому что его песочница и его файл .env удаляются при закрытии мастера.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="353"/>
        <source>The daily renewal cannot be set up on this computer: {reason} {hint}</source>
        <translation>Ежедневное продление нельзя настроить на этом компьютере: {reason} {hint}</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="358"/>
        <source>This computer has no task scheduler the wizard can use, so no renewal is offered here. Set it up where the backend runs, as above.</source>
        <translation>На этом компьютере нет планировщика задач, которым мастер может воспользоваться, поэтому продление здесь не предлагается. Настройте его там, где работает бэкенд, как описано выше.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="379"/>
        <source>The database address, with its password, is stored in the task&apos;s settings for your user.</source>
        <translation>Адрес базы данных вместе с паролем будет записан в настройки задачи вашего пользователя.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="385"/>
        <source>What the daily renewal runs</source>
        <translation>Что запускает ежедневное продление</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="408"/>
        <source>The daily renewal is set up.</source>
        <translation>Ежедневное продление настроено.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="422"/>
        <source>Untick the box to finish without it. Whoever looks after your backend can set the renewal up by hand with the command shown on this page.</source>
        <translation>Снимите флажок, чтобы завершить без него. Тот, кто обслуживает ваш бэкенд, может настроить продление вручную командой, показанной на этой странице.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="429"/>
        <source>Copied.</source>
        <translation>Скопировано.</translation>
    </message>
</context>
<context>
    <name>ExchangePage</name>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="65"/>
        <source>Account:</source>
        <translation>Аккаунт:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="66"/>
        <source>Account ID:</source>
        <translation>ID аккаунта:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="67"/>
        <source>Connected as user:</source>
        <translation>Подключено от имени пользователя:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="68"/>
        <source>Access granted to:</source>
        <translation>Доступ выдан к:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="69"/>
        <source>Access token valid until:</source>
        <translation>Токен доступа действует до:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="70"/>
        <source>Refresh token dies if unused:</source>
        <translation>Refresh-токен истечёт без использования:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="96"/>
        <source>Testing the long-lived token</source>
        <translation>Проверка долгосрочного токена</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="98"/>
        <source>Getting the tokens</source>
        <translation>Получение токенов</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="99"/>
        <source>Testing the stored connection</source>
        <translation>Проверка сохранённого подключения</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="100"/>
        <source>Renewing the tokens</source>
        <translation>Продление токенов</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="105"/>
        <source>The wizard talks to amoCRM; nothing is saved until the next page.</source>
        <translation>Мастер обращается к amoCRM; до следующей страницы ничего не сохраняется.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="106"/>
        <source>The wizard talks to amoCRM with what is stored.</source>
        <translation>Мастер обращается к amoCRM с сохранёнными данными.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="110"/>
        <source>Here the wizard exchanges the code for tokens and reads your account with them, to be sure they work. If amoCRM refuses, the message says what to change and the button takes you to the page where you change it.

The values it uses are on your integration in amoCRM: Settings → Integrations (Настройки → Интеграции) → your integration → Keys and scopes (Ключи и доступы).</source>
        <translation>Здесь мастер обменивает код на токены и читает с ними данные аккаунта, чтобы убедиться, что они работают. Если amoCRM откажет, в сообщении будет сказано, что исправить, а кнопка переведёт на страницу, где это исправляется.

Нужные значения есть в вашей интеграции в amoCRM: «Настройки → Интеграции» → ваша интеграция → «Ключи и доступы».</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="162"/>
        <source>Trying the long-lived token on {host}…</source>
        <translation>Проверяем долгосрочный токен на {host}…</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="170"/>
        <source>Getting the tokens from {host}, then reading the account…</source>
        <translation>Получаем токены от {host}, затем читаем данные аккаунта…</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="180"/>
        <source>Calling amoCRM with the stored tokens…</source>
        <translation>Обращаемся к amoCRM с сохранёнными токенами…</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="182"/>
        <source>Renewing the tokens and saving the new pair…</source>
        <translation>Продлеваем токены и сохраняем новую пару…</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="202"/>
        <source>The tokens were renewed and saved to {target}.</source>
        <translation>Токены продлены и сохранены в {target}.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="207"/>
        <source>The connection works. The tokens had expired and were renewed and saved.</source>
        <translation>Подключение работает. Срок токенов истёк, они продлены и сохранены.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="210"/>
        <source>The connection works.</source>
        <translation>Подключение работает.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="214"/>
        <source>The long-lived token works. Nothing is saved yet: press Next.</source>
        <translation>Долгосрочный токен работает. Пока ничего не сохранено: нажмите «Далее».</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="219"/>
        <source>Connected. Nothing is saved yet: press Next to save the tokens.</source>
        <translation>Подключено. Пока ничего не сохранено: нажмите «Далее», чтобы сохранить токены.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="310"/>
        <source>CRM data (deals, contacts, companies, tasks)</source>
        <translation>данные CRM (сделки, контакты, компании, задачи)</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="311"/>
        <source>files</source>
        <translation>файлы</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="312"/>
        <source>deleting files</source>
        <translation>удаление файлов</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="313"/>
        <source>notifications</source>
        <translation>уведомления</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="314"/>
        <source>push notifications</source>
        <translation>push-уведомления</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="233"/>
        <source>Nothing was saved.</source>
        <translation>Ничего не сохранено.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="249"/>
        <source>Press “Connect again” below: the wizard opens amoCRM&apos;s consent page with everything filled in, and you press Allow there.</source>
        <translation>Нажмите «Подключить заново» ниже: мастер откроет страницу согласия amoCRM со всеми заполненными данными, и там вы нажмёте «Разрешить».</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="260"/>
        <source>Go back to the integration details</source>
        <translation>Вернуться к данным интеграции</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="261"/>
        <source>Go back to the consent page</source>
        <translation>Вернуться к странице разрешения</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="262"/>
        <source>Go back to the start</source>
        <translation>Вернуться в начало</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="263"/>
        <source>Connect again (everything prefilled)</source>
        <translation>Подключить заново (всё уже заполнено)</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="264"/>
        <source>Try again</source>
        <translation>Попробовать ещё раз</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="269"/>
        <source>Starts the work of this page again.</source>
        <translation>Запускает работу этой страницы заново.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="293"/>
        <source>user {id}</source>
        <translation>пользователь {id}</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="293"/>
        <source>unknown</source>
        <translation>неизвестно</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="297"/>
        <source>not stated in the token</source>
        <translation>в токене не указано</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="303"/>
        <source>no refresh token: a long-lived token cannot be renewed</source>
        <translation>refresh-токена нет: долгосрочный токен продлить нельзя</translation>
    </message>
</context>
<context>
    <name>HelpPanel</name>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="376"/>
        <source>Help for this page</source>
        <translation>Справка по этой странице</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="377"/>
        <source>Hide help</source>
        <translation>Скрыть справку</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="378"/>
        <source>Closes this help.</source>
        <translation>Закрывает эту справку.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="379"/>
        <source>Open the integrations in amoCRM</source>
        <translation>Открыть интеграции в amoCRM</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="396"/>
        <source>Opens Settings → Integrations of {account} in your web browser.</source>
        <translation>Открывает «Настройки → Интеграции» аккаунта {account} в вашем браузере.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="398"/>
        <source>Enter the account address first (on the Integration details page).</source>
        <translation>Сначала введите адрес аккаунта (на странице «Данные интеграции»).</translation>
    </message>
</context>
<context>
    <name>Messages</name>
    <message>
        <location filename="../../wizard/ui/consent.py" line="255"/>
        <source>The code has spaces in it or is empty.</source>
        <translation>Код пустой или в нём есть пробелы.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="257"/>
        <source>Copy the code again, whole, from Keys and scopes.</source>
        <translation>Скопируйте код ещё раз, целиком, из «Ключей и доступов».</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="72"/>
        <source>“{typed}” has Russian (Cyrillic) letters in it.</source>
        <translation>В «{typed}» есть русские (кириллические) буквы.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="76"/>
        <source>Account addresses use Latin letters, digits and hyphens only. Copy the address from your browser&apos;s address bar while you are in amoCRM, e.g. mycompany.amocrm.ru.</source>
        <translation>В адресах аккаунтов бывают только латинские буквы, цифры и дефисы. Скопируйте адрес из адресной строки браузера, когда вы в amoCRM, например mycompany.amocrm.ru.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="91"/>
        <source>A Kommo address looks like mycompany.kommo.com: copy it from your browser&apos;s address bar while you are in Kommo.</source>
        <translation>Адрес Kommo выглядит как mycompany.kommo.com: скопируйте его из адресной строки браузера, когда вы в Kommo.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="105"/>
        <source>A long-lived token is a long text in three parts separated by dots.</source>
        <translation>Долгосрочный токен — это длинный текст из трёх частей, разделённых точками.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="110"/>
        <source>Copy it again, whole, from the private integration&apos;s Keys and scopes tab.</source>
        <translation>Скопируйте его ещё раз, целиком, с вкладки «Ключи и доступы» частной интеграции.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="421"/>
        <source>amoCRM refused this secret key.</source>
        <translation>amoCRM отклонил этот секретный ключ.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="423"/>
        <source>Copy the Secret key again from the integration&apos;s Keys and scopes tab in amoCRM.</source>
        <translation>Скопируйте секретный ключ заново с вкладки «Ключи и доступы» интеграции в amoCRM.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/jobs.py" line="31"/>
        <source>Database targets are not available in this build.</source>
        <translation>В этой сборке сохранение в базу данных недоступно.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/jobs.py" line="32"/>
        <source>Save to a .env file instead.</source>
        <translation>Сохраните в файл .env.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/jobs.py" line="77"/>
        <source>This is not a long-lived token.</source>
        <translation>Это не долгосрочный токен.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/jobs.py" line="79"/>
        <source>Copy the long-lived token again, whole, from the private integration&apos;s Keys and scopes tab in amoCRM.</source>
        <translation>Скопируйте долгосрочный токен ещё раз, целиком, с вкладки «Ключи и доступы» частной интеграции в amoCRM.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/jobs.py" line="175"/>
        <source>The OS keyring is not available; the secret was not kept there.</source>
        <translation>Хранилище паролей системы недоступно, секретный ключ в нём не сохранён.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/jobs.py" line="202"/>
        <source>Something unexpected went wrong.</source>
        <translation>Произошла непредвиденная ошибка.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/jobs.py" line="204"/>
        <source>Try again; if it happens again, send the log file to whoever maintains your integration.</source>
        <translation>Попробуйте ещё раз; если ошибка повторится, отправьте файл журнала тому, кто поддерживает вашу интеграцию.</translation>
    </message>
</context>
<context>
    <name>Notice</name>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="251"/>
        <source>Note:</source>
        <translation>Заметка:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="252"/>
        <source>Error:</source>
        <translation>Ошибка:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="253"/>
        <source>OK:</source>
        <translation>Готово:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="254"/>
        <source>Warning:</source>
        <translation>Внимание:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="269"/>
        <source>What to do:</source>
        <translation>Что сделать:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="273"/>
        <source>Technical details: {detail}</source>
        <translation>Технические подробности: {detail}</translation>
    </message>
</context>
<context>
    <name>RedirectCompare</name>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="91"/>
        <source>Compare the Redirect URIs</source>
        <extracomment>The registered URI the admin pasted, to be used instead of the one entered.</extracomment>
        <translation>Сравните ссылки для перенаправления</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="95"/>
        <source>The wizard sent:</source>
        <translation>Мастер отправил:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="96"/>
        <source>Redirect URI the wizard sent</source>
        <translation>Ссылка для перенаправления, которую отправил мастер</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="99"/>
        <source>The Redirect URI entered on the integration details page, as it was sent.</source>
        <translation>Ссылка для перенаправления со страницы «Данные интеграции» в том виде, в каком она отправлена.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="101"/>
        <source>Registered in amoCRM:</source>
        <translation>Указана в amoCRM:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="102"/>
        <source>Redirect URI registered in amoCRM</source>
        <translation>Ссылка для перенаправления, указанная в amoCRM</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="106"/>
        <source>Paste the redirect address (Ссылка для перенаправления) from the integration&apos;s settings in amoCRM to see how it differs.</source>
        <translation>Вставьте «Ссылку для перенаправления» из настроек интеграции в amoCRM, чтобы увидеть разницу.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="112"/>
        <source>Both addresses, the first difference marked</source>
        <translation>Обе ссылки, первое отличие отмечено</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="114"/>
        <source>Use the registered one and go back to the details</source>
        <translation>Взять ссылку из amoCRM и вернуться к данным</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="118"/>
        <source>Puts the pasted address into the Redirect URI field of the integration details.</source>
        <translation>Подставляет вставленную ссылку в поле «Ссылка для перенаправления» на странице данных интеграции.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="139"/>
        <source>Paste the redirect address registered in amoCRM above (Settings → Integrations → your integration) to see the difference.</source>
        <translation>Вставьте выше ссылку для перенаправления, указанную в amoCRM («Настройки → Интеграции» → ваша интеграция), чтобы увидеть разницу.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="152"/>
        <source>They are the same. Check that it is the same integration, and that its settings were saved in amoCRM.</source>
        <translation>Ссылки совпадают. Проверьте, что это та же интеграция и что её настройки сохранены в amoCRM.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="158"/>
        <source>How they differ:</source>
        <translation>Чем они отличаются:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="174"/>
        <source>The first difference is character {n}: “{a}” in the one sent, “{b}” in amoCRM.</source>
        <translation>Первое отличие — символ № {n}: «{a}» в отправленной, «{b}» в amoCRM.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="177"/>
        <source>The first difference is character {n}: the one sent has “{a}” there, the one in amoCRM ends before it.</source>
        <translation>Первое отличие — символ № {n}: в отправленной там «{a}», а ссылка из amoCRM до него заканчивается.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="182"/>
        <source>The first difference is character {n}: the one in amoCRM has “{b}” there, the one sent ends before it.</source>
        <translation>Первое отличие — символ № {n}: в ссылке из amoCRM там «{b}», а отправленная до него заканчивается.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="209"/>
        <source>sent:</source>
        <translation>отправлено:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="209"/>
        <source>amoCRM:</source>
        <translation>в amoCRM:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="222"/>
        <source>How the addresses differ</source>
        <translation>Чем отличаются ссылки</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="93"/>
        <source>You entered:</source>
        <translation>Вы ввели:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="209"/>
        <source>entered:</source>
        <translation>введено:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="190"/>
        <source>The first difference is character {n}: “{a}” in the one you entered, “{b}” in amoCRM.</source>
        <translation>Первое отличие — символ № {n}: «{a}» во введённой, «{b}» в amoCRM.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="194"/>
        <source>The first difference is character {n}: the one you entered has “{a}” there, the one in amoCRM ends before it.</source>
        <translation>Первое отличие — символ № {n}: во введённой ссылке там «{a}», а ссылка из amoCRM до него заканчивается.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="198"/>
        <source>The first difference is character {n}: the one in amoCRM has “{b}” there, the one you entered ends before it.</source>
        <translation>Первое отличие — символ № {n}: в ссылке из amoCRM там «{b}», а введённая до него заканчивается.</translation>
    </message>
</context>
<context>
    <name>SavePage</name>
    <message>
        <source>Restart command</source>
        <translation>Команда перезапуска</translation>
    </message>
    <message>
        <source>Runs right after the tokens are saved: on the server for an ssh:// target, through a login shell; on this computer otherwise.</source>
        <translation>Выполняется сразу после сохранения токенов: на сервере для адреса ssh:// (через оболочку входа), иначе на этом компьютере.</translation>
    </message>
    <message>
        <source>Then restart the backend with (optional):</source>
        <translation>Затем перезапустить бэкенд командой (необязательно):</translation>
    </message>
    <message>
        <source>e.g. pm2 restart backend</source>
        <translation>например, pm2 restart backend</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="70"/>
        <source>Save the connection</source>
        <extracomment>The place to choose another target, and the place for what a target needs besides its address (the SSH connection&apos;s fields go here too).</extracomment>
        <translation>Сохранение подключения</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="71"/>
        <source>Nothing has been written yet. Press Save to write it.</source>
        <translation>Пока ничего не записано. Нажмите «Сохранить», чтобы записать.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="72"/>
        <source>Save</source>
        <translation>Сохранить</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="83"/>
        <source>What will be written</source>
        <translation>Что будет записано</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="75"/>
        <source>The tokens will be written to the place chosen at the start:</source>
        <translation>Токены будут записаны туда, что выбрано в начале:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="77"/>
        <source>Where the tokens go</source>
        <translation>Куда идут токены</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="78"/>
        <source>Choose another place…</source>
        <translation>Выбрать другое место…</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="81"/>
        <source>Shows the choice of a .env file or a database, to write somewhere else.</source>
        <translation>Показывает выбор файла .env или базы данных, чтобы записать в другое место.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="87"/>
        <source>The tokens go where you chose on the first page: the file or database your backend reads its amoCRM settings from. In a .env file the wizard changes only its own amoCRM lines and keeps everything else; in a database, only its own amoCRM settings. “Choose another place…” changes it here. Nothing is written until you press Save.

The integration these tokens belong to is in amoCRM under Settings → Integrations (Настройки → Интеграции).</source>
        <translation>Токены записываются туда, что вы выбрали на первой странице: в файл или базу данных, откуда бэкенд читает настройки amoCRM. В файле .env мастер меняет только свои строки amoCRM и сохраняет всё остальное, в базе данных — только свои настройки amoCRM. «Выбрать другое место…» меняет это здесь. Ничего не записывается, пока вы не нажмёте «Сохранить».

Интеграция, которой принадлежат эти токены, находится в amoCRM в разделе Настройки → Интеграции.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="125"/>
        <source>(nothing chosen yet)</source>
        <translation>(пока ничего не выбрано)</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="127"/>
        <source>the database {url}</source>
        <translation>база данных {url}</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="129"/>
        <source>the file {path}</source>
        <translation>файл {path}</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="144"/>
        <source>Writing to {target} and reading it back…</source>
        <translation>Записываем в {target} и читаем обратно…</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="182"/>
        <source>Choose a file or enter a database URL.</source>
        <translation>Выберите файл или введите адрес базы данных.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="186"/>
        <source>Press “Test database” to check the database and see which values go where.</source>
        <translation>Нажмите «Проверить базу», чтобы проверить базу данных и увидеть, что куда запишется.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="191"/>
        <source>These keys will be written to {target}:</source>
        <translation>В {target} будут записаны ключи:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="194"/>
        <source>Kept elsewhere:</source>
        <translation>Хранится в другом месте:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="197"/>
        <source>Other lines in the file are kept as they are.</source>
        <translation>Остальные строки файла останутся как есть.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="223"/>
        <source>Connecting to the database…</source>
        <translation>Подключаемся к базе данных…</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="239"/>
        <source>The database can be written to.</source>
        <translation>В базу данных можно записывать.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="267"/>
        <source>Nothing was written. Fix it, or choose another place.</source>
        <translation>Ничего не записано. Исправьте ошибку или выберите другое место.</translation>
    </message>
</context>
<context>
    <name>SetupWizard</name>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="306"/>
        <source>Start</source>
        <extracomment>QWizard&apos;s own button texts, translated by qtbase&apos;s catalogue (context &quot;QWizard&quot;). Kept in variables so that lupdate does not copy them into our catalogue. Build the consent page (QtWebEngine) as soon as the first window is painted. The question asked before closing throws something away (None: not asked now).</extracomment>
        <translation>Начало</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="307"/>
        <source>Integration details</source>
        <translation>Данные интеграции</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="308"/>
        <source>Allow access</source>
        <translation>Разрешение доступа</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="310"/>
        <source>Get the tokens</source>
        <translation>Получение токенов</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="311"/>
        <source>Test the connection</source>
        <translation>Проверка подключения</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="312"/>
        <source>Renew the tokens</source>
        <translation>Продление токенов</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="314"/>
        <source>Save</source>
        <translation>Сохранение</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="315"/>
        <source>Done</source>
        <translation>Готово</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="372"/>
        <location filename="../../wizard/ui/wizard.py" line="382"/>
        <source>Close the wizard?</source>
        <translation>Закрыть мастер?</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="374"/>
        <source>The new tokens are not saved yet.</source>
        <translation>Новые токены ещё не сохранены.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="377"/>
        <source>If you close the wizard now, they are lost, and you have to press Allow in amoCRM again to get new ones. Press Save first to keep them.</source>
        <translation>Если закрыть мастер сейчас, они пропадут, и для новых придётся снова нажать «Разрешить» в amoCRM. Чтобы их сохранить, сначала нажмите «Сохранить».</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="383"/>
        <source>What you have entered so far is not kept.</source>
        <translation>Введённое до сих пор не сохранится.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="384"/>
        <source>Close the wizard</source>
        <translation>Закрыть мастер</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="385"/>
        <source>Keep it open</source>
        <translation>Не закрывать</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="386"/>
        <source>Closes the wizard; nothing more is saved.</source>
        <translation>Закрывает мастер; больше ничего не сохраняется.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="387"/>
        <source>Goes back to the wizard where you were.</source>
        <translation>Возвращает в мастер, туда, где вы были.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="408"/>
        <source>amoCRM connection wizard</source>
        <translation>Мастер подключения amoCRM</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="410"/>
        <source>amoCRM connection wizard — demo with the built-in sandbox</source>
        <translation>Мастер подключения amoCRM — демо со встроенной песочницей</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="416"/>
        <source>? &amp;Help</source>
        <translation>? &amp;Справка</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="418"/>
        <source>Goes back to the previous page.</source>
        <translation>Возвращает на предыдущую страницу.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="419"/>
        <source>Goes on; the work of this page starts here.</source>
        <translation>Переходит дальше; работа этой страницы начинается здесь.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="420"/>
        <source>Writes the tokens where you chose, then goes on.</source>
        <translation>Записывает токены в выбранное место и переходит дальше.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="421"/>
        <source>Closes the wizard (and sets up what you ticked).</source>
        <translation>Закрывает мастер (и настраивает отмеченное).</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="422"/>
        <source>Closes the wizard without saving anything more.</source>
        <translation>Закрывает мастер, больше ничего не сохраняя.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="424"/>
        <source>Shows where to find what this page asks for in amoCRM, and a button that opens the account&apos;s integration settings.</source>
        <translation>Показывает, где в amoCRM найти то, что спрашивает эта страница, и кнопку, открывающую настройки интеграций аккаунта.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="430"/>
        <source>Help</source>
        <translation>Справка</translation>
    </message>
</context>
<context>
    <name>StepIndicator</name>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="768"/>
        <source>Step {n} of {total}: {name}</source>
        <translation>Шаг {n} из {total}: {name}</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="773"/>
        <source>Steps</source>
        <translation>Шаги</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="775"/>
        <source>Account:</source>
        <translation>Аккаунт:</translation>
    </message>
</context>
<context>
    <name>TargetChooser</name>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="464"/>
        <source>A .env file</source>
        <translation>Файл .env</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="465"/>
        <source>Write the tokens to a .env file.</source>
        <translation>Записать токены в файл .env.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="466"/>
        <source>.env file path</source>
        <translation>Путь к файлу .env</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="469"/>
        <source>The backend&apos;s .env file; it is created if it does not exist.</source>
        <translation>Файл .env бэкенда; если его нет, он будет создан.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="472"/>
        <source>Choose…</source>
        <translation>Выбрать…</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="473"/>
        <source>Choose the .env file</source>
        <translation>Выбрать файл .env</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="476"/>
        <source>Opens a file dialog to pick where the .env file is.</source>
        <translation>Открывает окно выбора файла .env.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="478"/>
        <source>A database</source>
        <translation>База данных</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="481"/>
        <source>Write the tokens to the database your backend reads its settings from.</source>
        <translation>Записать токены в базу данных, из которой бэкенд читает свои настройки.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="483"/>
        <source>Database URL</source>
        <translation>Адрес базы данных</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="486"/>
        <source>sqlite:///path/file.db, postgresql://user:password@host:5432/db or mysql://…</source>
        <translation>sqlite:///путь/файл.db, postgresql://пользователь:пароль@сервер:5432/база или mysql://…</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="490"/>
        <location filename="../../wizard/ui/widgets.py" line="491"/>
        <source>Test database</source>
        <translation>Проверить базу</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="494"/>
        <source>Connects to the database and checks that the wizard may write there.</source>
        <translation>Подключается к базе данных и проверяет, что мастер может туда писать.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="583"/>
        <source>Where should the tokens be written?</source>
        <translation>Куда записать токены?</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="585"/>
        <source>.env files (*.env .env);;All files (*)</source>
        <translation>Файлы .env (*.env .env);;Все файлы (*)</translation>
    </message>
</context>
<context>
    <name>WelcomePage</name>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="154"/>
        <source>Connect amoCRM to your backend</source>
        <extracomment>Next gets the focus when the first reading is done (not while the admin types a path).</extracomment>
        <translation>Подключение amoCRM к вашему бэкенду</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="158"/>
        <source>This wizard gets the tokens your backend needs to work with amoCRM or Kommo, and writes them where the backend reads them.</source>
        <translation>Мастер получает токены, которые нужны бэкенду для работы с amoCRM или Kommo, и записывает их туда, откуда бэкенд их читает.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="162"/>
        <source>Language:</source>
        <translation>Язык:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="163"/>
        <source>Language</source>
        <translation>Язык</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="166"/>
        <source>The language of the wizard; it changes at once.</source>
        <translation>Язык мастера; меняется сразу.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="169"/>
        <source>Where the connection is kept:</source>
        <translation>Где хранится подключение:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="173"/>
        <source>The connection stored there</source>
        <translation>Сохранённое там подключение</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="174"/>
        <source>Stored connection</source>
        <translation>Сохранённое подключение</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="175"/>
        <source>What should Next do?</source>
        <translation>Что сделать по кнопке «Далее»?</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="176"/>
        <source>Test it: call amoCRM with the stored tokens</source>
        <translation>Проверить: обратиться к amoCRM с сохранёнными токенами</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="179"/>
        <source>Next calls amoCRM with the stored tokens; nothing changes unless they expired.</source>
        <translation>«Далее» обратится к amoCRM с сохранёнными токенами; ничего не изменится, если их срок не истёк.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="183"/>
        <source>Renew now: get a fresh pair of tokens (the 3 months start again)</source>
        <translation>Продлить сейчас: получить новую пару токенов (3 месяца начнутся заново)</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="187"/>
        <source>Next spends the stored refresh token and saves the new pair at once.</source>
        <translation>«Далее» использует сохранённый refresh-токен и сразу сохранит новую пару.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="191"/>
        <source>Connect again: go through the amoCRM consent page (details prefilled)</source>
        <translation>Подключить заново: пройти страницу разрешения amoCRM (данные уже заполнены)</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="195"/>
        <source>Next leads to the integration details and amoCRM&apos;s consent page.</source>
        <translation>«Далее» ведёт к данным интеграции и странице разрешения amoCRM.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="200"/>
        <source>Choose where your backend reads its amoCRM settings: its .env file, or its database. If a connection is stored there, the wizard shows it and can test it, renew it or connect again.

For a new connection you need an integration in amoCRM: Settings → Integrations (Настройки → Интеграции), then your integration. The next page asks for the values from its Keys and scopes tab (Ключи и доступы).</source>
        <translation>Выберите, откуда бэкенд читает настройки amoCRM: из своего файла .env или из базы данных. Если там уже есть подключение, мастер покажет его и сможет проверить, продлить или подключить заново.

Для нового подключения нужна интеграция в amoCRM: «Настройки → Интеграции», затем ваша интеграция. Следующая страница попросит значения с её вкладки «Ключи и доступы».</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="221"/>
        <source>Demo mode: the built-in sandbox (a pretend amoCRM) runs at {url}. Nothing here talks to the real amoCRM. The tokens go to a .env file in the temporary folder {folder}.</source>
        <translation>Демо-режим: встроенная песочница (ненастоящий amoCRM) работает по адресу {url}. С настоящим amoCRM здесь ничего не связывается. Токены запишутся в файл .env во временной папке {folder}.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="280"/>
        <source>Reading {target}…</source>
        <translation>Читаем {target}…</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="276"/>
        <source>Choose a .env file or a database to continue.</source>
        <translation>Чтобы продолжить, выберите файл .env или базу данных.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="299"/>
        <source>No amoCRM connection is stored there yet.</source>
        <translation>Там пока нет сохранённого подключения amoCRM.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="300"/>
        <source>Press Next to connect an account.</source>
        <translation>Нажмите «Далее», чтобы подключить аккаунт.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="322"/>
        <source>Press Next to connect anyway, or choose another place.</source>
        <translation>Нажмите «Далее», чтобы всё равно подключиться, или выберите другое место.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="341"/>
        <source>Account: {url}</source>
        <translation>Аккаунт: {url}</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="343"/>
        <source>No tokens are stored: the connection was never finished.</source>
        <translation>Токенов нет: подключение так и не было завершено.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="349"/>
        <source>Long-lived token: ended {when}</source>
        <translation>Долгосрочный токен: закончился {when}</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="351"/>
        <source>Long-lived token: valid until {when}</source>
        <translation>Долгосрочный токен: действует до {when}</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="353"/>
        <source>It cannot be renewed: create a new one in amoCRM before it ends.</source>
        <translation>Его нельзя продлить: создайте новый в amoCRM до окончания срока.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="356"/>
        <source>Access token: expired {when}</source>
        <translation>Токен доступа: истёк {when}</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="358"/>
        <source>Access token: valid until {when}</source>
        <translation>Токен доступа: действует до {when}</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="362"/>
        <source>Refresh token: died {when}. Connect again to continue.</source>
        <translation>Refresh-токен: истёк {when}. Чтобы продолжить, подключитесь заново.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="368"/>
        <source>Refresh token: {age} days old, {left} days left (until {when}).</source>
        <translation>Refresh-токен: возраст {age} дн., осталось {left} дн. (до {when}).</translation>
    </message>
</context>
<context>
    <name>HostKeyQuestion</name>
    <message>
        <source>Is this your server?</source>
        <translation>Это ваш сервер?</translation>
    </message>
    <message>
        <source>The wizard has never connected to {host}. Its host key has the fingerprint:</source>
        <translation>Мастер ещё ни разу не подключался к {host}. Отпечаток ключа этого сервера:</translation>
    </message>
    <message>
        <source>Trust it only if it is the fingerprint your server&apos;s administrator sees (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the server). Otherwise somebody may be pretending to be your server.</source>
        <translation>Доверяйте ему, только если это тот же отпечаток, который видит администратор сервера (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub на сервере). Иначе кто-то может выдавать себя за ваш сервер.</translation>
    </message>
</context>
<context>
    <name>Restart</name>
    <message>
        <source>The backend was restarted: {command}</source>
        <translation>Бэкенд перезапущен: {command}</translation>
    </message>
    <message>
        <source>The tokens are saved, but the backend was not restarted. {reason}</source>
        <translation>Токены сохранены, но бэкенд не перезапущен. {reason}</translation>
    </message>
</context>
<context>
    <name>SshPasswordQuestion</name>
    <message>
        <source>Keep it in the OS keyring</source>
        <translation>Сохранить его в хранилище паролей системы</translation>
    </message>
    <message>
        <source>Log in to the server</source>
        <translation>Вход на сервер</translation>
    </message>
    <message>
        <source>SSH password</source>
        <translation>Пароль SSH</translation>
    </message>
    <message>
        <source>The server refused the keys. Password for {server}:</source>
        <translation>Сервер не принял ключи. Пароль для {server}:</translation>
    </message>
</context>
<context>
    <name>SetupExport</name>
    <message>
        <source>Could not write {path}: {reason}</source>
        <translation>Не удалось записать {path}: {reason}</translation>
    </message>
    <message>
        <source>Prepare a setup for an admin…</source>
        <translation>Подготовить настройку для администратора…</translation>
    </message>
    <message>
        <source>Preparing…</source>
        <translation>Подготовка…</translation>
    </message>
    <message>
        <source>Save the setup file</source>
        <translation>Сохранить файл настройки</translation>
    </message>
    <message>
        <source>Writes a .amocrm-setup file with everything but the secrets: an admin opens it with this wizard, logs in and presses Allow.</source>
        <translation>Записывает файл .amocrm-setup со всем, кроме секретов: администратор открывает его этим мастером, входит в amoCRM и нажимает «Разрешить».</translation>
    </message>
    <message>
        <source>Written to {path}. It holds no secret: send it to the admin.</source>
        <translation>Записано в {path}. Секретов в нём нет: отправьте его администратору.</translation>
    </message>
</context>
</TS>
