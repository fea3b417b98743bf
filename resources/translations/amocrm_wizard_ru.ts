<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ru_RU">
<context>
    <name>BusyIndicator</name>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="135"/>
        <source>Busy: {what}</source>
        <translation>Идёт работа: {what}</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="135"/>
        <source>Progress</source>
        <translation>Ход работы</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="137"/>
        <source>Working…</source>
        <translation>Идёт работа…</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="140"/>
        <source>What the wizard is doing now.</source>
        <translation>Что мастер делает сейчас.</translation>
    </message>
</context>
<context>
    <name>ConsentBrowser</name>
    <message>
        <location filename="../../wizard/ui/webview.py" line="108"/>
        <source>amoCRM consent page</source>
        <extracomment>(NavigationRequest, Verdict): every navigation the page saw and what was decided.</extracomment>
        <translation>Страница разрешения amoCRM</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/webview.py" line="110"/>
        <source>The amoCRM page where you allow the integration to access your account.</source>
        <translation>Страница amoCRM, на которой вы разрешаете интеграции доступ к аккаунту.</translation>
    </message>
</context>
<context>
    <name>ConsentPage</name>
    <message>
        <location filename="../../wizard/ui/consent.py" line="111"/>
        <source>Allow access in amoCRM</source>
        <extracomment>A consent page loaded ahead of time is used only while it is this fresh (seconds).</extracomment>
        <translation>Разрешите доступ в amoCRM</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="114"/>
        <source>Log in if amoCRM asks, choose the account and press “Allow” (Разрешить).</source>
        <translation>Войдите, если amoCRM попросит, выберите аккаунт и нажмите «Разрешить».</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="116"/>
        <source>Consent page status</source>
        <translation>Состояние страницы разрешения</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="117"/>
        <source>Try loading again</source>
        <translation>Загрузить ещё раз</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="118"/>
        <source>Loads the amoCRM page again.</source>
        <translation>Загружает страницу amoCRM заново.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="119"/>
        <source>Open that link in my browser</source>
        <translation>Открыть эту ссылку в моём браузере</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="122"/>
        <source>Opens the page that is not part of amoCRM in your usual web browser.</source>
        <translation>Открывает страницу, которая не относится к amoCRM, в вашем обычном браузере.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="124"/>
        <source>Or, without this page</source>
        <translation>Или без этой страницы</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="125"/>
        <source>Open the consent page in my own browser</source>
        <translation>Открыть страницу разрешения в моём браузере</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="129"/>
        <source>Opens the same amoCRM page in your usual web browser. After pressing Allow there, paste the address the browser went to into the field below.</source>
        <translation>Открывает эту же страницу amoCRM в вашем обычном браузере. Нажмите там «Разрешить», затем вставьте в поле ниже адрес, на который перешёл браузер.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="134"/>
        <source>Paste the 20-minute code from Keys and scopes:</source>
        <translation>Вставьте 20-минутный код из «Ключей и доступов»:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="135"/>
        <source>Authorization code</source>
        <translation>Код авторизации</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="138"/>
        <source>The 20-minute code from the integration&apos;s Keys and scopes tab in amoCRM.</source>
        <translation>Код авторизации, действующий 20 минут, с вкладки «Ключи и доступы» интеграции в amoCRM.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="141"/>
        <source>Or paste the address you were redirected to:</source>
        <translation>Или вставьте адрес, на который вас перенаправило:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="142"/>
        <source>Redirect address</source>
        <translation>Адрес перенаправления</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="146"/>
        <source>The whole address the browser went to after you pressed Allow; it contains code=.</source>
        <translation>Полный адрес, на который перешёл браузер после нажатия «Разрешить»; в нём есть code=.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="154"/>
        <source>This is amoCRM&apos;s own page. Log in if it asks, pick the account and press “Allow” (Разрешить); the wizard catches the answer and moves on by itself.

If the page does not load: in amoCRM open Settings → Integrations (Настройки → Интеграции), click your integration, open the Keys and scopes tab (Ключи и доступы) and copy the authorization code (Код авторизации) into the field below; it works for 20 minutes. Or open the page in your own browser, press Allow there and paste the address your browser went to.</source>
        <translation>Это собственная страница amoCRM. Войдите, если она попросит, выберите аккаунт и нажмите «Разрешить» — мастер сам получит ответ и перейдёт дальше.

Если страница не загружается: в amoCRM откройте «Настройки → Интеграции», нажмите на свою интеграцию, откройте вкладку «Ключи и доступы» и скопируйте «Код авторизации» в поле ниже; он действует 20 минут. Или откройте страницу в своём браузере, нажмите там «Разрешить» и вставьте адрес, на который перешёл браузер.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="326"/>
        <source>This link leads outside amoCRM ({url}); it is not opened here.</source>
        <translation>Эта ссылка ведёт за пределы amoCRM ({url}), здесь она не открывается.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="341"/>
        <source>The consent page has been loaded again.</source>
        <translation>Страница разрешения загружена заново.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="346"/>
        <source>Access allowed. Getting the tokens…</source>
        <translation>Доступ разрешён. Получаем токены…</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="362"/>
        <source>Loading the amoCRM page…</source>
        <translation>Загружается страница amoCRM…</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="379"/>
        <source>Press “Allow” on the page below.</source>
        <translation>Нажмите «Разрешить» на странице ниже.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="397"/>
        <source>amoCRM did not show the consent page (error {status}): it does not know this Client ID for {host}, or the integration is switched off. Press Back to check the integration details, or use the code below.</source>
        <translation>amoCRM не показал страницу разрешения (ошибка {status}): он не знает этот ID интеграции для {host} или интеграция отключена. Нажмите «Назад» и проверьте данные интеграции — или воспользуйтесь кодом ниже.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="405"/>
        <source>The amoCRM page could not be loaded. Check the internet connection and the account address ({host}), then try again, or use the code below.</source>
        <translation>Не удалось загрузить страницу amoCRM. Проверьте подключение к интернету и адрес аккаунта ({host}) и попробуйте ещё раз — или воспользуйтесь кодом ниже.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="426"/>
        <source>The amoCRM page is open in your browser.</source>
        <translation>Страница amoCRM открыта в вашем браузере.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="428"/>
        <source>Press “Allow” (Разрешить) there. Then copy the whole address from your browser&apos;s address bar and paste it into “Or paste the address you were redirected to”.</source>
        <translation>Нажмите там «Разрешить». Затем скопируйте весь адрес из адресной строки браузера и вставьте его в поле «Или вставьте адрес, на который вас перенаправило».</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="119"/>
        <source>Go back to the integration details</source>
        <translation>Вернуться к данным интеграции</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="122"/>
        <source>Returns to the page with the Client ID and the Redirect URI to check them.</source>
        <translation>Возвращает на страницу с ID интеграции и ссылкой для перенаправления, чтобы их проверить.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="124"/>
        <source>Use the registered address and connect</source>
        <translation>Взять адрес из amoCRM и подключиться</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="128"/>
        <source>Takes the address registered in amoCRM as the Redirect URI, then gets the tokens with the code amoCRM just gave.</source>
        <translation>Берёт адрес, указанный в amoCRM, как ссылку для перенаправления и получает токены по коду, который amoCRM только что выдал.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="390"/>
        <source>amoCRM sent its answer to {address}, not to the Redirect URI you entered.</source>
        <translation>amoCRM отправил ответ на {address}, а не на введённую вами ссылку для перенаправления.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="393"/>
        <source>That is the address registered for this integration in amoCRM. Nothing has been sent yet: use the registered address to get the tokens, or go back and correct it.</source>
        <translation>Этот адрес указан для интеграции в amoCRM. Пока ничего не отправлено: возьмите адрес из amoCRM, чтобы получить токены, или вернитесь и исправьте ссылку.</translation>
    </message>
</context>
<context>
    <name>DetailsPage</name>
    <message>
        <location filename="../../wizard/ui/details.py" line="92"/>
        <source>Not needed with a long-lived token (fill it in if you have it).</source>
        <translation>С долгосрочным токеном не обязательно (заполните, если знаете).</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="96"/>
        <source>✓ Looks right</source>
        <translation>✓ Выглядит верно</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="100"/>
        <source>✗ Not right yet: {message} {hint}</source>
        <translation>✗ Пока неверно: {message} {hint}</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="182"/>
        <source>Integration details</source>
        <translation>Данные интеграции</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="183"/>
        <source>Copy these values from your integration in amoCRM.</source>
        <translation>Скопируйте эти значения из своей интеграции в amoCRM.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="187"/>
        <source>Where do I find these? In amoCRM open Settings → Integrations (Настройки → Интеграции), click your integration, then the Keys and scopes tab (Ключи и доступы). The account address is what you see in the browser&apos;s address bar, e.g. mycompany.amocrm.ru.</source>
        <translation>Где это найти? В amoCRM откройте «Настройки → Интеграции», нажмите на свою интеграцию, затем на вкладку «Ключи и доступы». Адрес аккаунта — то, что видно в адресной строке браузера, например mycompany.amocrm.ru.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="192"/>
        <source>How should the wizard get the tokens?</source>
        <translation>Как мастеру получить токены?</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="195"/>
        <source>Through the amoCRM consent page (the usual way)</source>
        <translation>Через страницу разрешения amoCRM (обычный способ)</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="199"/>
        <source>Next opens amoCRM&apos;s page where you press Allow; the tokens renew themselves.</source>
        <translation>«Далее» откроет страницу amoCRM, где нужно нажать «Разрешить»; токены будут обновляться сами.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="203"/>
        <source>I have a long-lived token (private integration)</source>
        <translation>У меня есть долгосрочный токен (частная интеграция)</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="208"/>
        <source>Use a long-lived token made on the private integration&apos;s Keys and scopes tab instead of the consent page. It cannot be renewed.</source>
        <translation>Использовать долгосрочный токен, созданный на вкладке «Ключи и доступы» частной интеграции, вместо страницы разрешения. Его нельзя продлить.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="214"/>
        <source>Account address</source>
        <translation>Адрес аккаунта</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="216"/>
        <source>Your amoCRM address, e.g. mycompany, mycompany.amocrm.ru or mycompany.kommo.com.</source>
        <translation>Адрес вашего amoCRM, например mycompany, mycompany.amocrm.ru или mycompany.kommo.com.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="220"/>
        <source>Client ID</source>
        <translation>ID интеграции</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="221"/>
        <source>The integration ID (ID интеграции) from Keys and scopes, like 1a2b3c4d-…</source>
        <translation>«ID интеграции» с вкладки «Ключи и доступы», вида 1a2b3c4d-…</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="224"/>
        <source>Client secret</source>
        <translation>Секретный ключ</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="226"/>
        <source>The secret key (Секретный ключ) from Keys and scopes. It is hidden as you type.</source>
        <translation>«Секретный ключ» с вкладки «Ключи и доступы». При вводе он скрыт.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="230"/>
        <source>Redirect URI</source>
        <translation>Ссылка для перенаправления (Redirect URI)</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="232"/>
        <source>The redirect address (Ссылка для перенаправления) exactly as written in the integration&apos;s settings.</source>
        <translation>«Ссылка для перенаправления» точно так, как она записана в настройках интеграции.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="237"/>
        <source>Long-lived token</source>
        <translation>Долгосрочный токен</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="239"/>
        <source>The long-lived token from the private integration&apos;s Keys and scopes tab. It is hidden as you type.</source>
        <translation>Долгосрочный токен с вкладки «Ключи и доступы» частной интеграции. При вводе он скрыт.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="249"/>
        <source>Show the secret</source>
        <translation>Показать ключ</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="252"/>
        <source>Shows the client secret in plain text.</source>
        <translation>Показывает секретный ключ открытым текстом.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="254"/>
        <source>Show the token</source>
        <translation>Показать токен</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="257"/>
        <source>Shows the long-lived token in plain text.</source>
        <translation>Показывает долгосрочный токен открытым текстом.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="272"/>
        <source>In amoCRM open Settings → Integrations (Настройки → Интеграции) and click your private integration. On its Keys and scopes tab (Ключи и доступы) create a long-lived token, choose how long it lives (1 day to 5 years) and copy it into the “Long-lived token” field. Copy the account address from the browser&apos;s address bar. The integration ID and secret key are on the same tab; they are optional here.</source>
        <translation>В amoCRM откройте «Настройки → Интеграции» и нажмите на свою частную интеграцию. На её вкладке «Ключи и доступы» создайте долгосрочный токен, выберите срок его жизни (от 1 дня до 5 лет) и скопируйте его в поле «Долгосрочный токен». Адрес аккаунта скопируйте из адресной строки браузера. «ID интеграции» и «Секретный ключ» — на той же вкладке; здесь они не обязательны.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="279"/>
        <source>In amoCRM open Settings → Integrations (Настройки → Интеграции) and click your integration. On its Keys and scopes tab (Ключи и доступы) copy the integration ID (ID интеграции) into Client ID and the secret key (Секретный ключ) into Client secret. The Redirect URI is the redirect address (Ссылка для перенаправления) in the integration&apos;s settings; copy it exactly, character for character. The account address is in the browser&apos;s address bar, e.g. mycompany.amocrm.ru.</source>
        <translation>В amoCRM откройте «Настройки → Интеграции» и нажмите на свою интеграцию. На вкладке «Ключи и доступы» скопируйте «ID интеграции» и «Секретный ключ» в одноимённые поля. «Ссылка для перенаправления» (Redirect URI) указана в настройках интеграции; скопируйте её точно, символ в символ. Адрес аккаунта — в адресной строке браузера, например mycompany.amocrm.ru.</translation>
    </message>
</context>
<context>
    <name>DonePage</name>
    <message>
        <location filename="../../wizard/ui/done.py" line="81"/>
        <source>All set</source>
        <translation>Готово</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="83"/>
        <source>Summary</source>
        <translation>Итог</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="84"/>
        <source>Copy the summary (secrets masked)</source>
        <translation>Скопировать итог (секреты скрыты)</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="88"/>
        <source>Copies the summary to the clipboard with every secret shortened to its first characters.</source>
        <translation>Копирует итог в буфер обмена; от каждого секрета остаются только первые символы.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="91"/>
        <source>How to renew</source>
        <translation>Как продлевать</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="92"/>
        <source>Keep the connection alive</source>
        <translation>Чтобы подключение не пропало</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="96"/>
        <source>When I press Finish, set up a daily renewal on this computer (no admin rights needed)</source>
        <translation>По нажатию «Завершить» настроить ежедневное продление на этом компьютере (права администратора не нужны)</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="102"/>
        <source>Adds a daily task for your user that renews the tokens when they are 30 days old, so the refresh token never dies unused.</source>
        <translation>Добавляет для вашего пользователя ежедневную задачу, которая продлевает токены, когда им исполняется 30 дней, чтобы refresh-токен не истёк без дела.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="106"/>
        <source>What the daily renewal does</source>
        <translation>Что делает ежедневное продление</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="112"/>
        <source>The account is connected and the tokens are saved.</source>
        <translation>Аккаунт подключён, токены сохранены.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="113"/>
        <source>The stored connection works.</source>
        <translation>Сохранённое подключение работает.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="114"/>
        <source>The tokens were renewed and saved.</source>
        <translation>Токены продлены и сохранены.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="119"/>
        <source>Your backend reads the tokens from where they were saved. An access token lives 24 hours and the refresh token 3 months; every renewal starts the 3 months again. Tick the box to let this computer renew them once a month by itself (a systemd timer or cron line on Linux, a launchd agent on macOS, a Task Scheduler task on Windows).

The integration itself is in amoCRM under Settings → Integrations (Настройки → Интеграции).</source>
        <translation>Ваш бэкенд читает токены оттуда, куда они сохранены. Токен доступа живёт 24 часа, токен обновления — 3 месяца; каждое продление начинает 3 месяца заново. Отметьте флажок, и этот компьютер будет сам продлевать их раз в месяц (таймер systemd или строка cron в Linux, агент launchd в macOS, задача Планировщика заданий в Windows).

Сама интеграция находится в amoCRM в разделе «Настройки → Интеграции».</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="148"/>
        <source>Setting up the daily renewal…</source>
        <translation>Настраивается ежедневное продление…</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="178"/>
        <source>This is a long-lived token. It ends on {when} and cannot be renewed: create a new one in amoCRM (Keys and scopes of the private integration) before then and run this wizard again. “amocrm-wizard status” warns you two weeks before it ends.</source>
        <translation>Это долгосрочный токен. Он перестанет действовать {when}, и продлить его нельзя: до этого срока создайте новый в amoCRM («Ключи и доступы» частной интеграции) и снова запустите мастер. Команда «amocrm-wizard status» предупредит за две недели до конца срока.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="184"/>
        <source>The refresh token dies on {when} if nobody uses it. Your backend renews the tokens each time it refreshes them; to renew by hand run “amocrm-wizard refresh”, or open this wizard again and choose “Renew now”. If it has died, choose “Connect again”.</source>
        <translation>Refresh-токен истечёт {when}, если им никто не воспользуется. Бэкенд продлевает токены при каждом обновлении; вручную это делает команда «amocrm-wizard refresh» или этот мастер (вариант «Продлить сейчас»). Если токен уже истёк, выберите «Подключить заново».</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="208"/>
        <source>Account</source>
        <translation>Аккаунт</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="209"/>
        <source>{name} (id {id})</source>
        <translation>{name} (номер {id})</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="211"/>
        <source>Address</source>
        <translation>Адрес</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="212"/>
        <source>Client ID</source>
        <translation>ID интеграции</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="213"/>
        <source>Client secret</source>
        <translation>Секретный ключ</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="214"/>
        <source>Redirect URI</source>
        <translation>Ссылка для перенаправления (Redirect URI)</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="215"/>
        <source>Saved to</source>
        <translation>Сохранено в</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="220"/>
        <source>Long-lived token</source>
        <translation>Долгосрочный токен</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="221"/>
        <source>{token} ends {when}; it cannot be renewed</source>
        <translation>{token}, действует до {when}; продлить нельзя</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="229"/>
        <source>Access token</source>
        <translation>Токен доступа</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="230"/>
        <source>{token} valid until {when}</source>
        <translation>{token}, действует до {when}</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="239"/>
        <source>Refresh token</source>
        <translation>Refresh-токен</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="240"/>
        <source>{token} dies {when} if unused</source>
        <translation>{token}, истечёт {when}, если не использовать</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="278"/>
        <source>Checking how this computer runs daily tasks…</source>
        <translation>Проверяем, как этот компьютер запускает ежедневные задачи…</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="290"/>
        <source>Nothing to schedule: a long-lived token cannot be renewed. Put its end date in your calendar, or run “amocrm-wizard status” now and then.</source>
        <translation>Планировать нечего: долгосрочный токен продлить нельзя. Запишите дату окончания в календарь или время от времени запускайте «amocrm-wizard status».</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="296"/>
        <source>The daily renewal cannot be set up here: {reason} {hint}</source>
        <translation>Ежедневное продление здесь настроить нельзя: {reason} {hint}</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="312"/>
        <source>{what}
It runs: {command}</source>
        <translation>{what}
Команда: {command}</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="315"/>
        <source>The database address, with its password, is stored in the task&apos;s settings for your user.</source>
        <translation>Адрес базы данных вместе с паролем будет записан в настройки задачи вашего пользователя.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="340"/>
        <source>The daily renewal is set up.</source>
        <translation>Ежедневное продление настроено.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="353"/>
        <source>Untick the box to finish without it, or set it up by hand (see the README).</source>
        <translation>Снимите флажок, чтобы завершить без него, или настройте продление вручную (см. README).</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/done.py" line="360"/>
        <source>Copied.</source>
        <translation>Скопировано.</translation>
    </message>
</context>
<context>
    <name>ExchangePage</name>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="60"/>
        <source>Account:</source>
        <translation>Аккаунт:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="61"/>
        <source>Account ID:</source>
        <translation>ID аккаунта:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="62"/>
        <source>Connected as user:</source>
        <translation>Подключено от имени пользователя:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="63"/>
        <source>Access granted to:</source>
        <translation>Доступ выдан к:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="64"/>
        <source>Access token valid until:</source>
        <translation>Токен доступа действует до:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="65"/>
        <source>Refresh token dies if unused:</source>
        <translation>Refresh-токен истечёт без использования:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="91"/>
        <source>Testing the long-lived token</source>
        <translation>Проверка долгосрочного токена</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="93"/>
        <source>Getting the tokens</source>
        <translation>Получение токенов</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="94"/>
        <source>Testing the stored connection</source>
        <translation>Проверка сохранённого подключения</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="95"/>
        <source>Renewing the tokens</source>
        <translation>Продление токенов</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="100"/>
        <source>The wizard talks to amoCRM; nothing is saved until the next page.</source>
        <translation>Мастер обращается к amoCRM; до следующей страницы ничего не сохраняется.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="101"/>
        <source>The wizard talks to amoCRM with what is stored.</source>
        <translation>Мастер обращается к amoCRM с сохранёнными данными.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="105"/>
        <source>Here the wizard exchanges the code for tokens and reads your account with them, to be sure they work. If amoCRM refuses, the message says what to change and the button takes you to the page where you change it.

The values it uses are on your integration in amoCRM: Settings → Integrations (Настройки → Интеграции) → your integration → Keys and scopes (Ключи и доступы).</source>
        <translation>Здесь мастер обменивает код на токены и читает с ними данные аккаунта, чтобы убедиться, что они работают. Если amoCRM откажет, в сообщении будет сказано, что исправить, а кнопка переведёт на страницу, где это исправляется.

Нужные значения есть в вашей интеграции в amoCRM: «Настройки → Интеграции» → ваша интеграция → «Ключи и доступы».</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="154"/>
        <source>Trying the long-lived token on {host}…</source>
        <translation>Проверяем долгосрочный токен на {host}…</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="162"/>
        <source>Exchanging the code for tokens at {host}, then reading the account…</source>
        <translation>Обмениваем код на токены на {host}, затем читаем данные аккаунта…</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="172"/>
        <source>Calling amoCRM with the stored tokens…</source>
        <translation>Обращаемся к amoCRM с сохранёнными токенами…</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="174"/>
        <source>Renewing the tokens and saving the new pair…</source>
        <translation>Продлеваем токены и сохраняем новую пару…</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="190"/>
        <source>The tokens were renewed and saved to {target}.</source>
        <translation>Токены продлены и сохранены в {target}.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="195"/>
        <source>The connection works. The tokens had expired and were renewed and saved.</source>
        <translation>Подключение работает. Срок токенов истёк, они продлены и сохранены.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="198"/>
        <source>The connection works.</source>
        <translation>Подключение работает.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="202"/>
        <source>The long-lived token works. Nothing is saved yet: press Next.</source>
        <translation>Долгосрочный токен работает. Пока ничего не сохранено: нажмите «Далее».</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="207"/>
        <source>Connected. Nothing is saved yet: press Next to choose where the tokens go.</source>
        <translation>Подключено. Пока ничего не сохранено: нажмите «Далее» и выберите, куда записать токены.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="217"/>
        <source>Nothing was saved.</source>
        <translation>Ничего не сохранено.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="231"/>
        <source>Go back to the integration details</source>
        <translation>Вернуться к данным интеграции</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="232"/>
        <source>Go back to the consent page</source>
        <translation>Вернуться к странице разрешения</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="233"/>
        <source>Go back to the start</source>
        <translation>Вернуться в начало</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="234"/>
        <source>Connect again (everything prefilled)</source>
        <translation>Подключить заново (всё уже заполнено)</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="235"/>
        <source>Try again</source>
        <translation>Попробовать ещё раз</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="240"/>
        <source>Starts the work of this page again.</source>
        <translation>Запускает работу этой страницы заново.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="264"/>
        <source>user {id}</source>
        <translation>пользователь {id}</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="264"/>
        <source>unknown</source>
        <translation>неизвестно</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="265"/>
        <source>not stated in the token</source>
        <translation>в токене не указано</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/exchange.py" line="270"/>
        <source>no refresh token: a long-lived token cannot be renewed</source>
        <translation>refresh-токена нет: долгосрочный токен продлить нельзя</translation>
    </message>
</context>
<context>
    <name>HelpPanel</name>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="369"/>
        <source>Help for this page</source>
        <translation>Справка по этой странице</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="370"/>
        <source>Hide help</source>
        <translation>Скрыть справку</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="371"/>
        <source>Closes this help.</source>
        <translation>Закрывает эту справку.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="372"/>
        <source>Open the integrations in amoCRM</source>
        <translation>Открыть интеграции в amoCRM</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="389"/>
        <source>Opens Settings → Integrations of {account} in your web browser.</source>
        <translation>Открывает «Настройки → Интеграции» аккаунта {account} в вашем браузере.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="391"/>
        <source>Enter the account address first (on the Integration details page).</source>
        <translation>Сначала введите адрес аккаунта (на странице «Данные интеграции»).</translation>
    </message>
</context>
<context>
    <name>HostKeyQuestion</name>
    <message>
        <location filename="../../wizard/ui/hostkey.py" line="19"/>
        <source>Is this your server?</source>
        <translation>Это ваш сервер?</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/hostkey.py" line="21"/>
        <source>The wizard has never connected to {host}. Its host key has the fingerprint:</source>
        <translation>Мастер ещё ни разу не подключался к {host}. Отпечаток ключа этого сервера:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/hostkey.py" line="27"/>
        <source>Trust it only if it is the fingerprint your server&apos;s administrator sees (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the server). Otherwise somebody may be pretending to be your server.</source>
        <translation>Доверяйте ему, только если это тот же отпечаток, который видит администратор сервера (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub на сервере). Иначе кто-то может выдавать себя за ваш сервер.</translation>
    </message>
</context>
<context>
    <name>Messages</name>
    <message>
        <location filename="../../wizard/ui/consent.py" line="215"/>
        <source>The code has spaces in it or is empty.</source>
        <translation>Код пустой или в нём есть пробелы.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/consent.py" line="217"/>
        <source>Copy the code again, whole, from Keys and scopes.</source>
        <translation>Скопируйте код ещё раз, целиком, из «Ключей и доступов».</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="48"/>
        <source>A long-lived token is a long text in three parts separated by dots.</source>
        <translation>Долгосрочный токен — это длинный текст из трёх частей, разделённых точками.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/details.py" line="53"/>
        <source>Copy it again, whole, from the private integration&apos;s Keys and scopes tab.</source>
        <translation>Скопируйте его ещё раз, целиком, с вкладки «Ключи и доступы» частной интеграции.</translation>
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
        <location filename="../../wizard/ui/jobs.py" line="139"/>
        <source>After saving, {target} does not hold what was written ({keys}).</source>
        <translation>После сохранения в {target} оказалось не то, что было записано ({keys}).</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/jobs.py" line="146"/>
        <source>Check that nothing else is writing there at the same moment, then save again.</source>
        <translation>Убедитесь, что туда одновременно больше никто не пишет, и сохраните ещё раз.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/jobs.py" line="169"/>
        <source>The secret was not kept in the OS keyring: {reason}</source>
        <translation>Секретный ключ не сохранён в хранилище паролей системы: {reason}</translation>
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
        <location filename="../../wizard/ui/widgets.py" line="246"/>
        <source>Note:</source>
        <translation>Заметка:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="247"/>
        <source>Error:</source>
        <translation>Ошибка:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="248"/>
        <source>OK:</source>
        <translation>Готово:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="249"/>
        <source>Warning:</source>
        <translation>Внимание:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="263"/>
        <source>What to do:</source>
        <translation>Что сделать:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="267"/>
        <source>Technical details: {detail}</source>
        <translation>Технические подробности: {detail}</translation>
    </message>
</context>
<context>
    <name>RedirectCompare</name>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="90"/>
        <source>Compare the Redirect URIs</source>
        <extracomment>The registered URI the admin pasted, to be used instead of the one entered.</extracomment>
        <translation>Сравните ссылки для перенаправления</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="91"/>
        <source>The wizard sent:</source>
        <translation>Мастер отправил:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="92"/>
        <source>Redirect URI the wizard sent</source>
        <translation>Ссылка для перенаправления, которую отправил мастер</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="95"/>
        <source>The Redirect URI entered on the integration details page, as it was sent.</source>
        <translation>Ссылка для перенаправления со страницы «Данные интеграции» в том виде, в каком она отправлена.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="97"/>
        <source>Registered in amoCRM:</source>
        <translation>Указана в amoCRM:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="98"/>
        <source>Redirect URI registered in amoCRM</source>
        <translation>Ссылка для перенаправления, указанная в amoCRM</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="102"/>
        <source>Paste the redirect address (Ссылка для перенаправления) from the integration&apos;s settings in amoCRM to see how it differs.</source>
        <translation>Вставьте «Ссылку для перенаправления» из настроек интеграции в amoCRM, чтобы увидеть разницу.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="108"/>
        <source>Both addresses, the first difference marked</source>
        <translation>Обе ссылки, первое отличие отмечено</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="110"/>
        <source>Use the registered one and go back to the details</source>
        <translation>Взять ссылку из amoCRM и вернуться к данным</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="114"/>
        <source>Puts the pasted address into the Redirect URI field of the integration details.</source>
        <translation>Подставляет вставленную ссылку в поле «Ссылка для перенаправления» на странице данных интеграции.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="129"/>
        <source>Paste the redirect address registered in amoCRM above (Settings → Integrations → your integration) to see the difference.</source>
        <translation>Вставьте выше ссылку для перенаправления, указанную в amoCRM («Настройки → Интеграции» → ваша интеграция), чтобы увидеть разницу.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="142"/>
        <source>They are the same. Check that it is the same integration, and that its settings were saved in amoCRM.</source>
        <translation>Ссылки совпадают. Проверьте, что это та же интеграция и что её настройки сохранены в amoCRM.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="148"/>
        <source>How they differ:</source>
        <translation>Чем они отличаются:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="162"/>
        <source>The first difference is character {n}: “{a}” in the one sent, “{b}” in amoCRM.</source>
        <translation>Первое отличие — символ № {n}: «{a}» в отправленной, «{b}» в amoCRM.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="165"/>
        <source>The first difference is character {n}: the one sent has “{a}” there, the one in amoCRM ends before it.</source>
        <translation>Первое отличие — символ № {n}: в отправленной там «{a}», а ссылка из amoCRM до него заканчивается.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="170"/>
        <source>The first difference is character {n}: the one in amoCRM has “{b}” there, the one sent ends before it.</source>
        <translation>Первое отличие — символ № {n}: в ссылке из amoCRM там «{b}», а отправленная до него заканчивается.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="182"/>
        <source>sent:</source>
        <translation>отправлено:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="182"/>
        <source>amoCRM:</source>
        <translation>в amoCRM:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="195"/>
        <source>How the addresses differ</source>
        <translation>Чем отличаются ссылки</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="93"/>
        <source>You entered:</source>
        <translation>Вы ввели:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="93"/>
        <source>entered:</source>
        <translation>введено:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="174"/>
        <source>The first difference is character {n}: “{a}” in the one you entered, “{b}” in amoCRM.</source>
        <translation>Первое отличие — символ № {n}: «{a}» во введённой, «{b}» в amoCRM.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="174"/>
        <source>The first difference is character {n}: the one you entered has “{a}” there, the one in amoCRM ends before it.</source>
        <translation>Первое отличие — символ № {n}: во введённой ссылке там «{a}», а ссылка из amoCRM до него заканчивается.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/diagnosis.py" line="174"/>
        <source>The first difference is character {n}: the one in amoCRM has “{b}” there, the one you entered ends before it.</source>
        <translation>Первое отличие — символ № {n}: в ссылке из amoCRM там «{b}», а введённая до него заканчивается.</translation>
    </message>
</context>
<context>
    <name>Restart</name>
    <message>
        <location filename="../../wizard/ui/restarting.py"/>
        <source>The backend was restarted: {command}</source>
        <translation>Бэкенд перезапущен: {command}</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/restarting.py"/>
        <source>The tokens are saved, but the backend was not restarted. {reason}</source>
        <translation>Токены сохранены, но бэкенд не перезапущен. {reason}</translation>
    </message>
</context>
<context>
    <name>SavePage</name>
    <message>
        <location filename="../../wizard/ui/save.py"/>
        <source>Then restart the backend with (optional):</source>
        <translation>Затем перезапустить бэкенд командой (необязательно):</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py"/>
        <source>Restart command</source>
        <translation>Команда перезапуска</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py"/>
        <source>e.g. pm2 restart backend</source>
        <translation>например, pm2 restart backend</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py"/>
        <source>Runs right after the tokens are saved: on the server for an ssh:// target, through a login shell; on this computer otherwise.</source>
        <translation>Выполняется сразу после сохранения токенов: на сервере для адреса ssh:// (через оболочку входа), иначе на этом компьютере.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="49"/>
        <source>Save the connection</source>
        <translation>Сохранение подключения</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="50"/>
        <source>Nothing has been written yet. Press Save to write it.</source>
        <translation>Пока ничего не записано. Нажмите «Сохранить», чтобы записать.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="51"/>
        <source>Save</source>
        <translation>Сохранить</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="52"/>
        <source>Write the tokens to:</source>
        <translation>Куда записать токены:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="53"/>
        <source>What will be written</source>
        <translation>Что будет записано</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="57"/>
        <source>Choose the file or database your backend reads its amoCRM settings from. For a .env file the wizard replaces only its own AMOCRM_… lines and keeps everything else. For a database it writes the row amocrm_tokens of the table system_settings. Press “Test database” to check a database before saving. Nothing is written until you press Save.

The integration these tokens belong to is in amoCRM under Settings → Integrations (Настройки → Интеграции).</source>
        <translation>Выберите файл или базу данных, из которых бэкенд читает настройки amoCRM. В файле .env мастер заменяет только свои строки AMOCRM_… и не трогает остальное. В базе данных он записывает строку amocrm_tokens таблицы system_settings. Кнопка «Проверить базу» проверяет базу данных до сохранения. Пока вы не нажмёте «Сохранить», ничего не записывается.

Интеграция, к которой относятся эти токены, находится в amoCRM в разделе «Настройки → Интеграции».</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="89"/>
        <source>Writing to {target} and reading it back…</source>
        <translation>Записываем в {target} и читаем обратно…</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="126"/>
        <source>Choose a file or enter a database URL.</source>
        <translation>Выберите файл или введите адрес базы данных.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="130"/>
        <source>Press “Test database” to check the database and see which values go where.</source>
        <translation>Нажмите «Проверить базу», чтобы проверить базу данных и увидеть, что куда запишется.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="135"/>
        <source>These keys will be written to {target}:</source>
        <translation>В {target} будут записаны ключи:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="138"/>
        <source>Kept elsewhere:</source>
        <translation>Хранится в другом месте:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="141"/>
        <source>Other lines in the file are kept as they are.</source>
        <translation>Остальные строки файла останутся как есть.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="159"/>
        <source>Connecting to the database…</source>
        <translation>Подключаемся к базе данных…</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="175"/>
        <source>The database can be written to.</source>
        <translation>В базу данных можно записывать.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/save.py" line="200"/>
        <source>Nothing was written. Fix it, or choose another place.</source>
        <translation>Ничего не записано. Исправьте ошибку или выберите другое место.</translation>
    </message>
</context>
<context>
    <name>SetupWizard</name>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="255"/>
        <source>amoCRM connection wizard</source>
        <extracomment>QWizard&apos;s own button texts, translated by qtbase&apos;s catalogue (context &quot;QWizard&quot;). Kept in variables so that lupdate does not copy them into our catalogue. Build the consent page (QtWebEngine) as soon as the first window is painted.</extracomment>
        <translation>Мастер подключения amoCRM</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="257"/>
        <source>amoCRM connection wizard — demo with the built-in sandbox</source>
        <translation>Мастер подключения amoCRM — демо со встроенной песочницей</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="263"/>
        <source>? &amp;Help</source>
        <translation>? &amp;Справка</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="265"/>
        <source>Goes back to the previous page.</source>
        <translation>Возвращает на предыдущую страницу.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="266"/>
        <source>Goes on; the work of this page starts here.</source>
        <translation>Переходит дальше; работа этой страницы начинается здесь.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="267"/>
        <source>Writes the tokens where you chose, then goes on.</source>
        <translation>Записывает токены в выбранное место и переходит дальше.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="268"/>
        <source>Closes the wizard (and sets up what you ticked).</source>
        <translation>Закрывает мастер (и настраивает отмеченное).</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="269"/>
        <source>Closes the wizard without saving anything more.</source>
        <translation>Закрывает мастер, больше ничего не сохраняя.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="271"/>
        <source>Shows where to find what this page asks for in amoCRM, and a button that opens the account&apos;s integration settings.</source>
        <translation>Показывает, где в amoCRM найти то, что спрашивает эта страница, и кнопку, открывающую настройки интеграций аккаунта.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/wizard.py" line="277"/>
        <source>Help</source>
        <translation>Справка</translation>
    </message>
</context>
<context>
    <name>SshPasswordQuestion</name>
    <message>
        <location filename="../../wizard/ui/sshlogin.py"/>
        <source>Log in to the server</source>
        <translation>Вход на сервер</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/sshlogin.py"/>
        <source>The server refused the keys. Password for {server}:</source>
        <translation>Сервер не принял ключи. Пароль для {server}:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/sshlogin.py"/>
        <source>SSH password</source>
        <translation>Пароль SSH</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/sshlogin.py"/>
        <source>Keep it in the OS keyring</source>
        <translation>Сохранить его в хранилище паролей системы</translation>
    </message>
</context>
<context>
    <name>TargetChooser</name>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="457"/>
        <source>A .env file</source>
        <translation>Файл .env</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="458"/>
        <source>Write the tokens to a .env file.</source>
        <translation>Записать токены в файл .env.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="459"/>
        <source>.env file path</source>
        <translation>Путь к файлу .env</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="462"/>
        <source>The backend&apos;s .env file; it is created if it does not exist.</source>
        <translation>Файл .env бэкенда; если его нет, он будет создан.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="465"/>
        <source>Choose…</source>
        <translation>Выбрать…</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="466"/>
        <source>Choose the .env file</source>
        <translation>Выбрать файл .env</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="469"/>
        <source>Opens a file dialog to pick where the .env file is.</source>
        <translation>Открывает окно выбора файла .env.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="471"/>
        <source>A database</source>
        <translation>База данных</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="474"/>
        <source>Write the tokens to the backend&apos;s database (table system_settings).</source>
        <translation>Записать токены в базу данных бэкенда (таблица system_settings).</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="476"/>
        <source>Database URL</source>
        <translation>Адрес базы данных</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="479"/>
        <source>sqlite:///path/file.db, postgresql://user:password@host:5432/db or mysql://…</source>
        <translation>sqlite:///путь/файл.db, postgresql://пользователь:пароль@сервер:5432/база или mysql://…</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="483"/>
        <location filename="../../wizard/ui/widgets.py" line="484"/>
        <source>Test database</source>
        <translation>Проверить базу</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="487"/>
        <source>Connects to the database and checks that the wizard may write there.</source>
        <translation>Подключается к базе данных и проверяет, что мастер может туда писать.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="572"/>
        <source>Where should the tokens be written?</source>
        <translation>Куда записать токены?</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/widgets.py" line="574"/>
        <source>.env files (*.env .env);;All files (*)</source>
        <translation>Файлы .env (*.env .env);;Все файлы (*)</translation>
    </message>
</context>
<context>
    <name>WelcomePage</name>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="151"/>
        <source>Connect amoCRM to your backend</source>
        <translation>Подключение amoCRM к вашему бэкенду</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="155"/>
        <source>This wizard gets the tokens your backend needs to work with amoCRM or Kommo, and writes them where the backend reads them.</source>
        <translation>Мастер получает токены, которые нужны бэкенду для работы с amoCRM или Kommo, и записывает их туда, откуда бэкенд их читает.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="159"/>
        <source>Language:</source>
        <translation>Язык:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="160"/>
        <source>Language</source>
        <translation>Язык</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="163"/>
        <source>The language of the wizard; it changes at once.</source>
        <translation>Язык мастера; меняется сразу.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="166"/>
        <source>Where the connection is kept:</source>
        <translation>Где хранится подключение:</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="170"/>
        <source>The connection stored there</source>
        <translation>Сохранённое там подключение</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="171"/>
        <source>Stored connection</source>
        <translation>Сохранённое подключение</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="172"/>
        <source>What should Next do?</source>
        <translation>Что сделать по кнопке «Далее»?</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="173"/>
        <source>Test it: call amoCRM with the stored tokens</source>
        <translation>Проверить: обратиться к amoCRM с сохранёнными токенами</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="176"/>
        <source>Next calls amoCRM with the stored tokens; nothing changes unless they expired.</source>
        <translation>«Далее» обратится к amoCRM с сохранёнными токенами; ничего не изменится, если их срок не истёк.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="180"/>
        <source>Renew now: get a fresh pair of tokens (the 3 months start again)</source>
        <translation>Продлить сейчас: получить новую пару токенов (3 месяца начнутся заново)</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="184"/>
        <source>Next spends the stored refresh token and saves the new pair at once.</source>
        <translation>«Далее» использует сохранённый refresh-токен и сразу сохранит новую пару.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="188"/>
        <source>Connect again: go through the amoCRM consent page (details prefilled)</source>
        <translation>Подключить заново: пройти страницу разрешения amoCRM (данные уже заполнены)</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="192"/>
        <source>Next leads to the integration details and amoCRM&apos;s consent page.</source>
        <translation>«Далее» ведёт к данным интеграции и странице разрешения amoCRM.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="197"/>
        <source>Choose where your backend reads its amoCRM settings: its .env file, or its database (the table system_settings). If a connection is stored there, the wizard shows it and can test it, renew it or connect again.

For a new connection you need an integration in amoCRM: Settings → Integrations (Настройки → Интеграции), then your integration. The next page asks for the values from its Keys and scopes tab (Ключи и доступы).</source>
        <translation>Выберите, откуда бэкенд читает настройки amoCRM: из своего файла .env или из базы данных (таблица system_settings). Если там уже есть подключение, мастер покажет его и сможет проверить, продлить или подключить заново.

Для нового подключения нужна интеграция в amoCRM: «Настройки → Интеграции», затем ваша интеграция. Следующая страница попросит значения с её вкладки «Ключи и доступы».</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="218"/>
        <source>Demo mode: the built-in sandbox (a pretend amoCRM) runs at {url}. Nothing here talks to the real amoCRM. The tokens go to a .env file in the temporary folder {folder}.</source>
        <translation>Демо-режим: встроенная песочница (ненастоящий amoCRM) работает по адресу {url}. С настоящим amoCRM здесь ничего не связывается. Токены запишутся в файл .env во временной папке {folder}.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="276"/>
        <source>Reading {target}…</source>
        <translation>Читаем {target}…</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="272"/>
        <source>Choose a .env file or a database to continue.</source>
        <translation>Чтобы продолжить, выберите файл .env или базу данных.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="295"/>
        <source>No amoCRM connection is stored there yet.</source>
        <translation>Там пока нет сохранённого подключения amoCRM.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="296"/>
        <source>Press Next to connect an account.</source>
        <translation>Нажмите «Далее», чтобы подключить аккаунт.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="306"/>
        <source>Press Next to connect anyway, or choose another place.</source>
        <translation>Нажмите «Далее», чтобы всё равно подключиться, или выберите другое место.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="324"/>
        <source>Account: {url}</source>
        <translation>Аккаунт: {url}</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="326"/>
        <source>No tokens are stored: the connection was never finished.</source>
        <translation>Токенов нет: подключение так и не было завершено.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="332"/>
        <source>Long-lived token: ended {when}</source>
        <translation>Долгосрочный токен: закончился {when}</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="334"/>
        <source>Long-lived token: valid until {when}</source>
        <translation>Долгосрочный токен: действует до {when}</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="336"/>
        <source>It cannot be renewed: create a new one in amoCRM before it ends.</source>
        <translation>Его нельзя продлить: создайте новый в amoCRM до окончания срока.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="339"/>
        <source>Access token: expired {when}</source>
        <translation>Токен доступа: истёк {when}</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="341"/>
        <source>Access token: valid until {when}</source>
        <translation>Токен доступа: действует до {when}</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="345"/>
        <source>Refresh token: died {when}. Connect again to continue.</source>
        <translation>Refresh-токен: истёк {when}. Чтобы продолжить, подключитесь заново.</translation>
    </message>
    <message>
        <location filename="../../wizard/ui/welcome.py" line="351"/>
        <source>Refresh token: {age} days old, {left} days left (until {when}).</source>
        <translation>Refresh-токен: возраст {age} дн., осталось {left} дн. (до {when}).</translation>
    </message>
</context>
</TS>
